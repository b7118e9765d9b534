package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// startError is a plugin that did not start because of the attribute attr
// of its block (a start failure is the command's otherwise).
type startError struct {
	attr string
	err  error
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// BlamedAttr is the attribute of the plugin block that err, a start
// failure, concerns: "sha256", "config" or (for any other) "command".
func BlamedAttr(err error) string {
	var se *startError
	if errors.As(err, &se) {
		return se.attr
	}
	return "command"
}

// go-plugin's text for a first stdout line that is not its handshake.
const unrecognized = "Unrecognized remote plugin message: "

// versionMismatch finds the plugin's protocol version in the start failure
// of a plugin of another protocol version: go-plugin's own error for a Go
// plugin ("incompatible API version with plugin. Plugin version: 1, Client
// versions: [2]"), or what a Python plugin writes on stderr before it exits
// (the oslohost_plugin SDK of protocol 1: "the host offers protocol versions
// [2], this plugin speaks [1]"; later ones: "... the host speaks version 2,
// this plugin (oslohost_plugin SDK) speaks 1 ...").
var versionMismatch = []*regexp.Regexp{
	regexp.MustCompile(`incompatible API version with plugin\. Plugin version: (\d+)`),
	regexp.MustCompile(`the host offers protocol versions \[[\d ]*\], this plugin speaks \[(\d+)\]`),
	regexp.MustCompile(`this plugin \(oslohost_plugin SDK\) speaks (\d+)`),
}

// explainVersion is the start failure of a plugin whose go-plugin protocol
// version is not the host's, and nil for any other failure.
func explainVersion(msg string, stderr []string) error {
	text := msg + "\n" + strings.Join(stderr, "\n")
	for _, re := range versionMismatch {
		m := re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		prefix := msg + ": "
		if i := strings.Index(msg, "incompatible API version"); i >= 0 {
			prefix = msg[:i]
		} else if i := strings.Index(msg, "plugin exited"); i >= 0 {
			prefix = msg[:i]
		} else if i := strings.Index(msg, unrecognized); i >= 0 {
			prefix = msg[:i]
		}
		advice := "rebuild the plugin with the current SDK (Go: plugin/sdk of this oslohost release; " +
			"Python: this release's sdk/python oslohost_plugin on its PYTHONPATH)"
		if v, _ := strconv.Atoi(m[1]); v > pluginv1.ProtocolVersion {
			advice = "the plugin is newer than this host: upgrade oslohost, or " + advice
		}
		return fmt.Errorf("%sthe plugin speaks oslohost plugin protocol version %s and this host speaks version %d: %s",
			prefix, m[1], pluginv1.ProtocolVersion, advice)
	}
	return nil
}

// explainStart replaces go-plugin's generic advice on a failed start ("not
// compiled for this architecture, …") with the cause: a plugin of another
// protocol version, what the plugin wrote on stderr before it exited, or
// the stray line it wrote on stdout, where the handshake belongs.
func explainStart(err error, stderr *tailWriter) error {
	msg := err.Error()
	if e := explainVersion(msg, stderr.lines()); e != nil {
		return e
	}
	i := strings.Index(msg, unrecognized)
	if i < 0 && !strings.Contains(msg, "plugin exited before we could connect") {
		return err
	}
	prefix := msg
	if i >= 0 {
		prefix = msg[:i]
	} else if j := strings.Index(msg, "plugin exited"); j >= 0 {
		prefix = msg[:j]
	}
	said := stderr.lines()
	if i >= 0 {
		if line, _, _ := strings.Cut(msg[i+len(unrecognized):], "\n"); strings.TrimSpace(line) != "" {
			return fmt.Errorf("%sit wrote %q on stdout before the go-plugin handshake: stdout belongs to the handshake "+
				"(is it a plugin built with plugin/sdk? log with sdk.Log, on stderr)%s", prefix, line, stderrNote(said))
		}
	}
	if len(said) == 0 {
		return fmt.Errorf("%sthe plugin exited before the go-plugin handshake and wrote nothing on stderr "+
			"(is it a plugin built with plugin/sdk?)", prefix)
	}
	return fmt.Errorf("%sthe plugin exited before the go-plugin handshake%s", prefix, stderrNote(said))
}

func stderrNote(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return "; its stderr:\n  " + strings.Join(lines, "\n  ")
}

// tailWriter keeps the last lines written to it, hclog JSON lines made
// readable ("message: key=value …").
type tailWriter struct {
	mu      sync.Mutex
	partial []byte
	kept    []string
}

const (
	tailLines   = 20
	tailLineMax = 2048
)

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.add(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > tailLineMax {
		w.add(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

func (w *tailWriter) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if len(line) > tailLineMax {
		line = line[:tailLineMax] + "…"
	}
	w.kept = append(w.kept, readableLogLine(line))
	if len(w.kept) > tailLines {
		w.kept = w.kept[len(w.kept)-tailLines:]
	}
}

func (w *tailWriter) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(w.kept)
	if s := strings.TrimSpace(string(w.partial)); s != "" {
		out = append(out, readableLogLine(s))
	}
	return out
}

// readableLogLine turns an hclog JSON line into "message: key=value …";
// other lines stay as they are.
func readableLogLine(line string) string {
	var entry map[string]any
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &entry) != nil {
		return line
	}
	msg, _ := entry["@message"].(string)
	var keys []string
	for k := range entry {
		if !strings.HasPrefix(k, "@") && k != "timestamp" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(msg)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(":")
		}
		fmt.Fprintf(&b, " %s=%v", k, entry[k])
	}
	return b.String()
}

// namedOnce is a logger that go-plugin may name after the plugin's binary
// without the name appearing twice (oslohost.plugin.calc.calc).
type namedOnce struct {
	hclog.Logger
	base string
}

func (l namedOnce) Named(name string) hclog.Logger {
	if name == l.base {
		return l.Logger
	}
	return l.Logger.Named(name)
}
