package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestArgumentRulesLikePython calls the same endpoint twice from a Python
// oslo.messaging client: once served by Python (Rules in
// test/pypeer/py/oslo_server.py) and once by a Go plugin served by
// `oslohost run` (test/interop/testdata/argrules, the same signatures
// declared the Go way). Every case must end the same: the same result,
// as JSON text (so a float stays a float, an int an int, and integers
// beyond 2^53 and 2^64 are exact, in arguments and in results), or the
// same exception class, module and message.
func TestArgumentRulesLikePython(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs oslohost and a plugin")
	}
	pypeer.Python(t)
	dir := t.TempDir()
	ctx := bg(t, 5*time.Minute)
	if err := hostproc.Build(ctx, dir, false,
		"github.com/oslohost/oslohost/cmd/oslohost",
		"github.com/oslohost/oslohost/test/interop/testdata/argrules"); err != nil {
		t.Fatalf("build: %v", err)
	}
	pyTopic := pypeer.UniqueName(t, "argrules-py")
	goTopic := pypeer.UniqueName(t, "argrules-go")
	pypeer.StartServer(t, pypeer.ServerOptions{Topic: pyTopic})
	hostproc.Run(t, filepath.Join(dir, "oslohost"), hostproc.WriteConfig(t, hostproc.TransportBlock(pypeer.URL())+fmt.Sprintf(`
plugin "argrules" {
  command = %q
}
server "argrules" {
  topic   = %q
  plugins = ["argrules"]
}
`, filepath.Join(dir, "argrules"), goTopic)+hostproc.AdminBlock))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})

	n := func(s string) json.Number { return json.Number(s) } // a number as written, 1.0 stays 1.0
	tests := []struct {
		method string
		args   map[string]any
		fails  bool // the case raises (else it returns)
	}{
		{"add", map[string]any{"increment": 1}, false},
		{"add", map[string]any{"increment": 1, "bogus": 2}, true},
		{"add", map[string]any{}, true},
		{"add", map[string]any{"bogus": 2}, true}, // unexpected before missing
		{"add", map[string]any{"bogus": 1, "zz": 2}, true},
		{"add", map[string]any{"Increment": 1}, true}, // names are case-sensitive
		{"two", map[string]any{}, true},
		{"two", map[string]any{"b": 1}, true},
		{"four", map[string]any{}, true},
		{"four", map[string]any{"c": 1}, true},
		{"opt", map[string]any{"a": 1}, false},
		{"opt", map[string]any{"a": 1, "b": 0, "c": "x"}, false},
		{"opt", map[string]any{"b": 5}, true},
		{"none", map[string]any{}, false},
		{"none", map[string]any{"x": 1}, true},
		// Numbers, both ways.
		{"echo_float", map[string]any{"x": n("1.0")}, false},
		{"echo_float", map[string]any{"x": n("1")}, false},
		{"echo_float", map[string]any{"x": n("0.1")}, false},
		{"echo_float", map[string]any{"x": n("1e16")}, false},
		{"echo_float", map[string]any{"x": n("2.5e-7")}, false},
		{"echo_float", map[string]any{"x": n("12345678901234567890")}, false},
		{"echo_int", map[string]any{"x": n("9007199254740993")}, false},
		{"echo_int", map[string]any{"x": n("-9223372036854775808")}, false},
		{"echo_big", map[string]any{"x": n("123456789012345678901234567890")}, false},
		{"echo_any", map[string]any{"value": n("1.0")}, false},
		{"echo_any", map[string]any{"value": n("1")}, false},
		{"echo_any", map[string]any{"value": []any{n("1"), n("1.0"), n("18446744073709551617"), n("-0.0")}}, false},
		{"echo_any", map[string]any{"value": map[string]any{"a": n("2.0"), "b": n("9007199254740993")}}, false},
		{"floats", map[string]any{}, false},
	}
	for _, tt := range tests {
		args, _ := json.Marshal(tt.args)
		t.Run(tt.method+string(args), func(t *testing.T) {
			t.Parallel()
			call := func(topic string) pypeer.Result {
				r, err := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Namespace: "argrules",
					Version: "1.0", Method: tt.method, Args: tt.args, Timeout: 30})
				if err != nil {
					t.Fatalf("python client: %v\n%s", err, py.Stderr())
				}
				return r
			}
			want, got := call(pyTopic), call(goTopic)
			if want.OK == tt.fails {
				t.Fatalf("the Python server: ok=%v %s.%s %q %s; the table says fails=%v", want.OK, want.ExcModule, want.ExcClass, firstLine(want.Msg), want.Result, tt.fails)
			}
			if !tt.fails {
				if !got.OK || !bytes.Equal(got.Result, want.Result) {
					t.Errorf("%s(**%s): Go plugin ok=%v %s %s.%s %q; Python %s", tt.method, args, got.OK, got.Result, got.ExcModule, got.ExcClass, firstLine(got.Msg), want.Result)
				}
				return
			}
			if got.OK || got.ExcModule != want.ExcModule || got.ExcClass != want.ExcClass ||
				firstLine(got.Msg) != firstLine(want.Msg) || excArgs(got) != excArgs(want) {
				t.Errorf("%s(**%s):\n Go plugin: ok=%v %s.%s %q args=%s\n Python:    %s.%s %q args=%s", tt.method, args,
					got.OK, got.ExcModule, got.ExcClass, firstLine(got.Msg), got.ExcArgs, want.ExcModule, want.ExcClass, firstLine(want.Msg), want.ExcArgs)
			}
		})
	}
}

// excArgs is the exception's args with the first line of each string:
// oslo appends the remote traceback to the message it rebuilds a builtin
// exception with.
func excArgs(r pypeer.Result) string {
	var args []any
	_ = json.Unmarshal(r.ExcArgs, &args)
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = firstLine(s)
		}
	}
	b, _ := json.Marshal(args)
	return string(b)
}

// firstLine is str() of a rebuilt remote exception without the remote
// traceback oslo appends to it.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
