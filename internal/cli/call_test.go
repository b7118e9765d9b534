package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestClientCommands runs call, cast and ping in-process against a real
// Python oslo.messaging server.
func TestClientCommands(t *testing.T) {
	srv := pypeer.StartServer(t, pypeer.ServerOptions{
		Topic:  pypeer.UniqueName(t, "cli"),
		Server: pypeer.UniqueName(t, "pysrv"),
	})
	o := srv.Options()
	common := []string{"--url", o.URL, "--topic", o.Topic, "--connect-timeout", "20s"}
	args := func(cmd string, rest ...string) []string {
		return append(append([]string{cmd}, common...), rest...)
	}

	t.Run("call prints the result as JSON", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runMain(t, args("call", "--timeout", "20s",
			"--context", "user_id=alice", "--context", "roles=[\"admin\"]",
			"echo", "value=42", "flag=true", "name=bob", `obj={"a": [1, 2]}`, `quoted="7"`)...)
		if code != ExitOK {
			t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
		}
		if !strings.HasPrefix(stdout, "{\n  ") {
			t.Errorf("stdout is not indented JSON:\n%s", stdout)
		}
		var got struct {
			Value    any            `json:"value"`
			Kwargs   map[string]any `json:"kwargs"`
			CtxtSeen map[string]any `json:"ctxt_seen"`
			Server   string         `json:"server"`
		}
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
		}
		if got.Value != 42.0 {
			t.Errorf("value = %#v, want 42", got.Value)
		}
		wantKwargs := map[string]any{"flag": true, "name": "bob", "obj": map[string]any{"a": []any{1.0, 2.0}}, "quoted": "7"}
		if diff := cmp.Diff(wantKwargs, got.Kwargs); diff != "" {
			t.Errorf("kwargs (-want +got):\n%s", diff)
		}
		if got.CtxtSeen["user_id"] != "alice" || !cmp.Equal(got.CtxtSeen["roles"], []any{"admin"}) {
			t.Errorf("ctxt_seen = %v, want user_id alice and roles [admin]", got.CtxtSeen)
		}
		if got.Server != o.Server {
			t.Errorf("server = %q, want %q", got.Server, o.Server)
		}
	})

	t.Run("call to one server", func(t *testing.T) {
		t.Parallel()
		code, stdout, _ := runMain(t, args("call", "--server", o.Server, "--timeout", "20s", "whoami")...)
		if code != ExitOK {
			t.Fatalf("exit code = %d", code)
		}
		var got any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatalf("stdout is not JSON: %v", err)
		}
		if !strings.Contains(stdout, o.Server) {
			t.Errorf("whoami = %s, want it to name %q", stdout, o.Server)
		}
	})

	t.Run("call remote exception", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runMain(t, args("call", "--timeout", "20s", "fail_value", "msg=boom")...)
		if code != ExitFailure {
			t.Errorf("exit code = %d, want 1", code)
		}
		if want := "Error: remote exception builtins.ValueError: boom\n"; !strings.HasPrefix(stderr, want) {
			t.Errorf("stderr = %q, want it to start with %q", stderr, want)
		}
		if strings.Contains(stderr, "Traceback") {
			t.Errorf("traceback printed without -v:\n%s", stderr)
		}
		if stdout != "" {
			t.Errorf("stdout = %q, want nothing", stdout)
		}
	})

	t.Run("call remote exception verbose", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runMain(t, args("call", "-v", "--timeout", "20s", "fail_value", "msg=boom")...)
		if code != ExitFailure {
			t.Errorf("exit code = %d, want 1", code)
		}
		for _, want := range []string{"Error: remote exception builtins.ValueError: boom", "Remote traceback:", "ValueError: boom"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not contain %q:\n%s", want, stderr)
			}
		}
	})

	t.Run("call timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		code, stdout, stderr := runMain(t, args("call", "--timeout", "1s", "slow", "seconds=3")...)
		if code != ExitFailure {
			t.Errorf("exit code = %d, want 1", code)
		}
		if !strings.HasPrefix(stderr, "Error: timed out after 1s waiting for a reply to slow") {
			t.Errorf("stderr = %q, want a timeout", stderr)
		}
		if stdout != "" {
			t.Errorf("stdout = %q, want nothing", stdout)
		}
		if d := time.Since(start); d > 2900*time.Millisecond {
			t.Errorf("took %s, want about 1s (less than the method's 3s)", d)
		}
	})

	t.Run("call nobody listens", func(t *testing.T) {
		t.Parallel()
		code, _, stderr := runMain(t, "call", "--url", o.URL, "--topic", pypeer.UniqueName(t, "nobody"), "--timeout", "20s", "echo")
		if code != ExitFailure {
			t.Errorf("exit code = %d, want 1", code)
		}
		if !strings.HasPrefix(stderr, "Error: message undeliverable") {
			t.Errorf("stderr = %q, want undeliverable", stderr)
		}
	})

	t.Run("cast", func(t *testing.T) {
		t.Parallel()
		marker := pypeer.UniqueName(t, "cast")
		code, stdout, stderr := runMain(t, args("cast", "--context", "request_id=req-1", "record", "marker="+marker, "n=3")...)
		if code != ExitOK {
			t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
		}
		if stdout != "" || stderr != "" {
			t.Errorf("cast printed stdout %q stderr %q, want nothing", stdout, stderr)
		}
		c := waitCast(t, srv, marker)
		if c.Kwargs["n"] != 3.0 || c.Ctxt["request_id"] != "req-1" {
			t.Errorf("cast received kwargs %v ctxt %v", c.Kwargs, c.Ctxt)
		}
	})

	t.Run("cast fanout", func(t *testing.T) {
		t.Parallel()
		marker := pypeer.UniqueName(t, "fanout")
		code, _, stderr := runMain(t, args("cast", "--fanout", "record", "marker="+marker)...)
		if code != ExitOK {
			t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
		}
		waitCast(t, srv, marker)
	})

	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runMain(t, args("ping", "--server", o.Server, "--count", "2", "--interval", "10ms")...)
		if code != ExitOK {
			t.Fatalf("exit code = %d, stderr:\n%s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("stdout = %q, want 2 lines", stdout)
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "pong from "+o.Topic+"."+o.Server+": time=") {
				t.Errorf("line %q is not a pong", l)
			}
		}
	})

	t.Run("ping unknown server", func(t *testing.T) {
		t.Parallel()
		code, stdout, stderr := runMain(t, args("ping", "--server", "nobody")...)
		if code != ExitFailure || stdout != "" {
			t.Errorf("exit code = %d stdout %q, want 1 and nothing", code, stdout)
		}
		if !strings.HasPrefix(stderr, "Error: message undeliverable") {
			t.Errorf("stderr = %q, want undeliverable", stderr)
		}
	})
}

// waitCast waits (bounded) for the record cast carrying marker.
func waitCast(t *testing.T, srv *pypeer.Server, marker string) pypeer.Cast {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for n := 1; ; n++ {
		casts, err := srv.Casts(ctx, n)
		if err != nil {
			t.Fatalf("cast with marker %s not received: %v", marker, err)
		}
		for _, c := range casts {
			if c.Kwargs["marker"] == marker {
				return c
			}
		}
	}
}

func TestCallNoBroker(t *testing.T) {
	start := time.Now()
	code, _, stderr := runMain(t, "call", "--url", "rabbit://guest:secret@127.0.0.1:1/", "--connect-timeout", "300ms",
		"--log-level", "off", "--topic", "t", "echo")
	if code != ExitFailure {
		t.Errorf("exit code = %d, want 1", code)
	}
	for _, want := range []string{"Error: connect to rabbit://guest:***@127.0.0.1:1/", ": no connection within 300ms (--connect-timeout)", "(last attempt: dial tcp 127.0.0.1:1: connect: connection refused)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", stderr, want)
		}
	}
	if strings.Contains(stderr, "secret") {
		t.Error("the password was printed")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s, want about 300ms", d)
	}
}
