package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/test/pypeer"
)

// examplesConfig serves the example plugins on unique topics; calc starts
// at the given value so tests can tell hosts apart.
func examplesConfig(t *testing.T, prefix, server string, calcStart int) string {
	return writeConfig(t, transportBlock()+fmt.Sprintf(`
plugin "hello" {
  command = %q
}
plugin "echo" {
  command = %q
}
plugin "calc" {
  command = %q
  config  = { start = %d }
}
server "hello" {
  topic   = "%s-hello"
  server  = %q
  plugins = ["hello"]
}
server "echo" {
  topic   = "%s-echo"
  server  = %q
  plugins = ["echo"]
}
server "calc" {
  topic   = "%s-calc"
  server  = %q
  plugins = ["calc"]
}
`+adminBlock, bin.hello, bin.echo, bin.calc, calcStart, prefix, server, prefix, server, prefix, server))
}

// TestPythonClientThroughPlugins runs the interop scenarios of the wire
// issue against `oslohost run` serving the example plugins.
func TestPythonClientThroughPlugins(t *testing.T) {
	pypeer.Python(t)
	prefix := pypeer.UniqueName(t, "e2e")
	runHost(t, examplesConfig(t, prefix, "h1", 0))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	do := func(t *testing.T, cmd pypeer.Command) pypeer.Result {
		t.Helper()
		cmd.Topic = prefix + "-" + cmd.Topic
		if cmd.Op == "" {
			cmd.Op = pypeer.OpCall
		}
		if cmd.Timeout == 0 {
			cmd.Timeout = 20
		}
		r, err := py.Do(bg(t, 2*time.Minute), cmd)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	wantJSON := func(t *testing.T, r pypeer.Result, want string) {
		t.Helper()
		if !r.OK {
			t.Fatalf("failed: %s.%s %s %q", r.ExcModule, r.ExcClass, r.ExcType, r.Msg)
		}
		var got, w any
		_ = json.Unmarshal(r.Result, &got)
		_ = json.Unmarshal([]byte(want), &w)
		if d := cmp.Diff(w, got); d != "" {
			t.Fatalf("result (-want +got):\n%s", d)
		}
	}
	wantRemote := func(t *testing.T, r pypeer.Result, excType, prefix string) {
		t.Helper()
		if r.OK || r.ExcType != excType || !strings.HasPrefix(r.ExcValue, prefix) {
			t.Fatalf("got ok=%v %s exc_type=%q %q, want %s %q", r.OK, r.ExcClass, r.ExcType, r.ExcValue, excType, prefix)
		}
	}

	t.Run("hello", func(t *testing.T) {
		t.Parallel()
		wantJSON(t, do(t, pypeer.Command{Topic: "hello", Method: "hello", Args: map[string]any{"name": "oslo"}}), `"hello, oslo"`)
	})
	t.Run("unicode, nested JSON, big numbers", func(t *testing.T) {
		t.Parallel()
		v := map[string]any{"s": "h\u00e9llo \u2603 \U0001F600", "n": []any{1, 2.5, nil, true, map[string]any{"deep": []any{}}}}
		r := do(t, pypeer.Command{Topic: "echo", Method: "echo", Args: map[string]any{"value": v}})
		b, _ := json.Marshal(v)
		wantJSON(t, r, string(b))
	})
	t.Run("context round trip", func(t *testing.T) {
		t.Parallel()
		ctxt := map[string]any{"user_id": "u1", "project_id": "p1", "roles": []any{"admin"}, "is_admin": true, "request_id": "req-e2e"}
		r := do(t, pypeer.Command{Topic: "echo", Method: "echo_context", Ctxt: ctxt})
		want, _ := json.Marshal(map[string]any{"user_id": "u1", "project_id": "p1", "roles": []any{"admin"}, "is_admin": true, "request_id": "req-e2e", "client_timeout": nil})
		wantJSON(t, r, string(want))
	})
	t.Run("1 MiB payload", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("x", 1<<20)
		r := do(t, pypeer.Command{Topic: "echo", Method: "echo", Args: map[string]any{"value": big}})
		var got string
		if err := r.Decode(&got); err != nil || got != big {
			t.Fatalf("1 MiB echo: ok=%v err=%v len=%d %s", r.OK, err, len(got), r.Msg)
		}
	})
	t.Run("ValueError from the plugin", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Topic: "calc", Method: "subtract", Args: map[string]any{"increment": 1_000_000}, CheckIsinstance: []string{"ValueError"}})
		if r.OK || r.ExcClass != "ValueError" || !r.Isinstance["ValueError"] || !strings.HasPrefix(r.Msg, "ival can't go negative!") {
			t.Fatalf("got %s.%s isinstance=%v %q", r.ExcModule, r.ExcClass, r.Isinstance, r.Msg)
		}
	})
	t.Run("any module and class", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Topic: "echo", Method: "raise_error", Args: map[string]any{"exc_module": "nova.exception", "exc_class": "InstanceNotFound", "message": "gone"}})
		wantRemote(t, r, "InstanceNotFound", "gone")
	})
	t.Run("calc functional semantics", func(t *testing.T) {
		t.Parallel()
		wantJSON(t, do(t, pypeer.Command{Topic: "calc", Method: "append", Args: map[string]any{"text": "stack"}}), `"stack"`)
		wantJSON(t, do(t, pypeer.Command{Topic: "calc", Method: "append", Args: map[string]any{"text": "ed"}}), `"stacked"`)
	})
	t.Run("namespace and version", func(t *testing.T) {
		t.Parallel()
		wantJSON(t, do(t, pypeer.Command{Topic: "calc", Namespace: "calc_admin", Version: "2.0", Method: "version"}), `"2.1"`)
		wantRemote(t, do(t, pypeer.Command{Topic: "calc", Namespace: "calc_admin", Version: "2.2", Method: "version"}), "UnsupportedVersion", "Endpoint does not support RPC version 2.2. Attempted method: version")
		wantRemote(t, do(t, pypeer.Command{Topic: "calc", Namespace: "nope", Method: "add"}), "UnsupportedVersion", "Endpoint does not support RPC version 1.0")
		wantRemote(t, do(t, pypeer.Command{Topic: "calc", Version: "1.4", Method: "add"}), "UnsupportedVersion", "Endpoint does not support RPC version 1.4")
	})
	t.Run("unknown and private methods", func(t *testing.T) {
		t.Parallel()
		wantRemote(t, do(t, pypeer.Command{Topic: "calc", Method: "multiply"}), "NoSuchMethod", "Endpoint does not support RPC method multiply")
		wantRemote(t, do(t, pypeer.Command{Topic: "calc", Method: "_private"}), "NoSuchMethod", "Endpoint does not support RPC method _private")
	})
	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		wantJSON(t, do(t, pypeer.Command{Op: pypeer.OpPing, Topic: "calc", Server: "h1"}), `"pong"`)
	})
	t.Run("long call with call monitor", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Topic: "calc", Method: "delay", Args: map[string]any{"seconds": 4}, Timeout: 3600, CallMonitorTimeout: 2})
		wantJSON(t, r, "4")
		if r.Elapsed < 4 {
			t.Fatalf("returned after %.1fs", r.Elapsed)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Topic: "calc", Method: "long_running_task", Args: map[string]any{"seconds": 3}, Timeout: 1})
		if r.OK || r.ExcClass != "MessagingTimeout" {
			t.Fatalf("got ok=%v %s", r.OK, r.ExcClass)
		}
	})
	t.Run("cast then call", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Op: pypeer.OpCast, Topic: "calc", Namespace: "calc_admin", Version: "2.1", Method: "reset"})
		if !r.OK {
			t.Fatal(r.Msg)
		}
	})
	t.Run("200 concurrent calls", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 200, Topic: "hello", Method: "hello", Args: map[string]any{"name": "x"}, Timeout: 60})
		if !r.OK || len(r.Results) != 200 {
			t.Fatalf("ok=%v results=%d %s", r.OK, len(r.Results), r.Msg)
		}
	})
}

// TestSeveralHosts: two hosts on the same topics share the load, each is
// reachable by server name, and fanout casts reach both.
func TestSeveralHosts(t *testing.T) {
	pypeer.Python(t)
	prefix := pypeer.UniqueName(t, "multi")
	runHost(t, examplesConfig(t, prefix, "ha", 1000))
	runHost(t, examplesConfig(t, prefix, "hb", 2000))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 2*time.Minute)
	topic := prefix + "-calc"
	ival := func(server string) int {
		t.Helper()
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Server: server, Method: "add", Args: map[string]any{"increment": 0}, Timeout: 20})
		var n int
		if err != nil || r.Decode(&n) != nil {
			t.Fatalf("add(0) on %s: %v %s %s", server, err, r.Result, r.Msg)
		}
		return n
	}
	if a, b := ival("ha"), ival("hb"); a != 1000 || b != 2000 {
		t.Fatalf("server-targeted calls reached %d and %d, want 1000 and 2000", a, b)
	}
	r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 40, Topic: topic, Method: "add", Args: map[string]any{"increment": 0}, Timeout: 20})
	if err != nil || !r.OK {
		t.Fatalf("%v %s", err, r.Msg)
	}
	seen := map[string]bool{}
	for _, x := range r.Results {
		seen[string(x.Result)] = true
	}
	if !seen["1000"] || !seen["2000"] {
		t.Fatalf("40 calls on the topic were served by %v, want both hosts", seen)
	}
	r, err = py.Do(ctx, pypeer.Command{Op: pypeer.OpCast, Topic: topic, Fanout: true, Method: "add", Args: map[string]any{"increment": 5}})
	if err != nil || !r.OK {
		t.Fatalf("fanout: %v %s", err, r.Msg)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		a, b := ival("ha"), ival("hb")
		if a == 1005 && b == 2005 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a fanout add(5): %d and %d, want 1005 and 2005", a, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGracefulShutdown: SIGTERM while a call runs lets it finish, then the
// host exits 0.
func TestGracefulShutdown(t *testing.T) {
	pypeer.Python(t)
	prefix := pypeer.UniqueName(t, "term")
	h := runHost(t, examplesConfig(t, prefix, "t1", 0))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	done := make(chan pypeer.Result, 1)
	go func() {
		r, _ := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: prefix + "-calc", Method: "delay", Args: map[string]any{"seconds": 3}, Timeout: 30})
		done <- r
	}()
	// Wait until the host has the call, then terminate it.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(h.Log(), "method=delay") {
		if time.Now().After(deadline) {
			t.Fatalf("the call never reached the host\n%s", h.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := h.Process().Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if !r.OK || string(r.Result) != "3" {
			t.Fatalf("in-flight call: ok=%v %s %s %q", r.OK, r.Result, r.ExcClass, r.Msg)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("in-flight call did not complete")
	}
	if err := h.WaitExit(t, 30*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, h.Log())
	}
}
