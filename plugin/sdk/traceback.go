package sdk

import (
	"fmt"
	"runtime"
	"strings"
)

// maxFrames bounds the frames kept in a traceback.
const maxFrames = 16

// Frames of these packages are plumbing, not the author's code.
var skipFramePrefixes = []string{
	"runtime.",
	"reflect.",
	"github.com/oslohost/oslohost/plugin/sdk.",
	"github.com/oslohost/oslohost/plugin/pluginv1.",
	"google.golang.org/grpc",
	"testing.",
}

// traceback formats a Python-style traceback: a header, one element per Go
// frame (outermost first, most recent call last) and "<class>: <message>\n".
// pcs are runtime.Callers program counters (innermost first); when none of
// them is the author's code, fallback (a function entry) names the method.
func traceback(pcs []uintptr, fallback uintptr, qualifiedClass, message string) []string {
	frames := userFrames(pcs)
	if len(frames) == 0 && fallback != 0 {
		if fn := runtime.FuncForPC(fallback); fn != nil {
			file, line := fn.FileLine(fallback)
			frames = []string{formatFrame(file, line, fn.Name())}
		}
	}
	tb := make([]string, 0, len(frames)+2)
	tb = append(tb, "Traceback (most recent call last):\n")
	for i := len(frames) - 1; i >= 0; i-- {
		tb = append(tb, frames[i])
	}
	return append(tb, qualifiedClass+": "+message+"\n")
}

// userFrames returns formatted frames of pcs, innermost first, without the
// plumbing frames, at most maxFrames.
func userFrames(pcs []uintptr) []string {
	if len(pcs) == 0 {
		return nil
	}
	var out []string
	it := runtime.CallersFrames(pcs)
	for {
		f, more := it.Next()
		if f.Function != "" && !skipFrame(f.Function) {
			out = append(out, formatFrame(f.File, f.Line, f.Function))
			if len(out) == maxFrames {
				break
			}
		}
		if !more {
			break
		}
	}
	return out
}

func skipFrame(fn string) bool {
	for _, p := range skipFramePrefixes {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

func formatFrame(file string, line int, fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return fmt.Sprintf("  File %q, line %d, in %s\n", file, line, fn)
}
