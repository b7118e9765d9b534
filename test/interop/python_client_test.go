package interop

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestPythonClientToGoServer runs the Python oslo.messaging client against
// one Go server; each subtest is one scenario of the wire spec.
func TestPythonClientToGoServer(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "py2go")
	gs := startGoServer(t, serverOpts{topic: topic, server: "gosrv1"})
	py := pypeer.StartClient(t, pypeer.ClientOptions{AllowedExmods: []string{"wire_exc"}})

	do := func(t *testing.T, cmd pypeer.Command) pypeer.Result {
		t.Helper()
		if cmd.Topic == "" {
			cmd.Topic = topic
		}
		if cmd.Op == "" {
			cmd.Op = pypeer.OpCall
		}
		if cmd.Timeout == 0 {
			cmd.Timeout = 20
		}
		r, err := py.Do(bg(t, 90*time.Second), cmd)
		if err != nil {
			t.Fatalf("python client: %v\n%s", err, py.Stderr())
		}
		return r
	}
	wantOK := func(t *testing.T, r pypeer.Result, want any) {
		t.Helper()
		if !r.OK {
			t.Fatalf("call failed: %s.%s: %s", r.ExcModule, r.ExcClass, r.Msg)
		}
		var got any
		if err := json.Unmarshal(r.Result, &got); err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		var w any
		_ = json.Unmarshal(wantJSON, &w)
		if d := cmp.Diff(w, got); d != "" {
			t.Fatalf("result mismatch (-want +got):\n%s", d)
		}
	}
	wantRemote := func(t *testing.T, r pypeer.Result, excType, msgPrefix string) {
		t.Helper()
		if r.OK {
			t.Fatalf("call succeeded with %s, want RemoteError %s", r.Result, excType)
		}
		if r.ExcClass != "RemoteError" || r.ExcType != excType || !strings.HasPrefix(r.ExcValue, msgPrefix) {
			t.Fatalf("got %s.%s exc_type=%q value=%q, want RemoteError %s %q", r.ExcModule, r.ExcClass, r.ExcType, r.ExcValue, excType, msgPrefix)
		}
	}

	t.Run("call with context, unicode and nested JSON", func(t *testing.T) {
		t.Parallel()
		args := map[string]any{"value": "h\u00e9llo \u2603 \U0001F600", "number": 7, "big": 12345678901234567, "nested": map[string]any{"a": []any{1, 2.5, nil, true}}}
		ctxt := map[string]any{"user_id": "u1", "project_id": "p1", "roles": []string{"admin"}, "is_admin": true, "auth_token": "SECRET"}
		r := do(t, pypeer.Command{Method: "echo", Args: args, Ctxt: ctxt})
		wantCtx := map[string]any{"client_timeout": nil}
		for k, v := range ctxt {
			wantCtx[k] = v
		}
		wantOK(t, r, map[string]any{
			"value":     args["value"],
			"kwargs":    map[string]any{"number": 7, "big": 12345678901234567, "nested": args["nested"]},
			"ctxt_seen": wantCtx,
			"server":    "gosrv1",
		})
	})
	t.Run("none result", func(t *testing.T) {
		t.Parallel()
		wantOK(t, do(t, pypeer.Command{Method: "none_result"}), nil)
	})
	t.Run("cast", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Op: pypeer.OpCast, Method: "record", Args: map[string]any{"n": "cast-1"}, Ctxt: map[string]any{"request_id": "req-1"}})
		if !r.OK {
			t.Fatalf("cast failed: %s", r.Msg)
		}
		c := nextCast(t, gs.casts)
		if c.Args["n"] != "cast-1" || c.Ctxt["request_id"] != "req-1" {
			t.Fatalf("cast arrived as %+v", c)
		}
	})
	t.Run("ValueError keeps its class", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Method: "fail_value", Args: map[string]any{"msg": "go says no"}, CheckIsinstance: []string{"ValueError"}})
		if r.OK || r.ExcClass != "ValueError" || r.ExcModule != "builtins" || !r.Isinstance["ValueError"] {
			t.Fatalf("got %s.%s isinstance=%v", r.ExcModule, r.ExcClass, r.Isinstance)
		}
		if !strings.HasPrefix(r.Msg, "go says no\n") {
			t.Fatalf("message %q", r.Msg)
		}
	})
	t.Run("custom exception from an allowed module", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Method: "fail_custom", Args: map[string]any{"msg": "custom failure", "code": 9}, CheckIsinstance: []string{"wire_exc.WireError"}})
		if r.OK || r.ExcClass != "WireError_Remote" || !r.Isinstance["wire_exc.WireError"] || r.ExcKwargs["code"] != float64(9) {
			t.Fatalf("got %s.%s isinstance=%v kwargs=%v msg=%q", r.ExcModule, r.ExcClass, r.Isinstance, r.ExcKwargs, r.Msg)
		}
	})
	t.Run("plain Go error is a RuntimeError", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Method: "fail_plain", CheckIsinstance: []string{"RuntimeError"}})
		if r.OK || !r.Isinstance["RuntimeError"] || !strings.HasPrefix(r.Msg, "a plain Go error") {
			t.Fatalf("got %s.%s %q", r.ExcModule, r.ExcClass, r.Msg)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		t.Parallel()
		wantRemote(t, do(t, pypeer.Command{Method: "does_not_exist"}), "NoSuchMethod", "Endpoint does not support RPC method does_not_exist")
	})
	t.Run("private method", func(t *testing.T) {
		t.Parallel()
		wantRemote(t, do(t, pypeer.Command{Method: "_private"}), "NoSuchMethod", "Endpoint does not support RPC method _private")
	})
	t.Run("version 7.0 served by a 7.5 endpoint", func(t *testing.T) {
		t.Parallel()
		wantOK(t, do(t, pypeer.Command{Method: "v75", Version: "7.0"}), "7.5")
	})
	t.Run("version 7.6 unsupported", func(t *testing.T) {
		t.Parallel()
		wantRemote(t, do(t, pypeer.Command{Method: "v75", Version: "7.6"}), "UnsupportedVersion", "Endpoint does not support RPC version 7.6. Attempted method: v75")
	})
	t.Run("namespace and version", func(t *testing.T) {
		t.Parallel()
		wantOK(t, do(t, pypeer.Command{Method: "vmeth", Namespace: "ns1", Version: "1.2"}), "ns1 endpoint, version 1.3")
		wantRemote(t, do(t, pypeer.Command{Method: "vmeth", Namespace: "ns1", Version: "1.4"}), "UnsupportedVersion", "Endpoint does not support RPC version 1.4")
	})
	t.Run("unknown namespace", func(t *testing.T) {
		t.Parallel()
		wantRemote(t, do(t, pypeer.Command{Method: "vmeth", Namespace: "nope"}), "UnsupportedVersion", "Endpoint does not support RPC version 1.0. Attempted method: vmeth")
	})
	t.Run("ping", func(t *testing.T) {
		t.Parallel()
		wantOK(t, do(t, pypeer.Command{Op: pypeer.OpPing, Server: "gosrv1"}), "pong")
	})
	t.Run("long call kept alive by heartbeats", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Method: "slow", Args: map[string]any{"seconds": 4}, Timeout: 3600, CallMonitorTimeout: 2})
		wantOK(t, r, "slept 4")
		if r.Elapsed < 4 {
			t.Fatalf("returned after %.2fs, before the call could finish", r.Elapsed)
		}
	})
	t.Run("call times out", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Method: "slow", Args: map[string]any{"seconds": 3}, Timeout: 1})
		if r.OK || r.ExcClass != "MessagingTimeout" {
			t.Fatalf("got ok=%v %s.%s", r.OK, r.ExcModule, r.ExcClass)
		}
	})
	t.Run("1 MiB payload", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("x", 1<<20)
		r := do(t, pypeer.Command{Method: "echo", Args: map[string]any{"value": big}})
		var got struct{ Value string }
		if err := r.Decode(&got); err != nil || got.Value != big {
			t.Fatalf("1 MiB echo: ok=%v err=%v len=%d", r.OK, err, len(got.Value))
		}
	})
	t.Run("200 concurrent calls", func(t *testing.T) {
		t.Parallel()
		r := do(t, pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 200, Method: "whoami", Timeout: 60})
		if !r.OK || len(r.Results) != 200 {
			t.Fatalf("ok=%v results=%d", r.OK, len(r.Results))
		}
	})
}

// TestPythonClientRouting checks fanout, server targeting, distribution and
// exchange isolation with several Go servers on one topic.
func TestPythonClientRouting(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "py2goroute")
	var servers []*goServer
	for _, name := range []string{"srv-a", "srv-b", "srv-c"} {
		servers = append(servers, startGoServer(t, serverOpts{topic: topic, server: name}))
	}
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 2*time.Minute)

	t.Run("fanout reaches every server", func(t *testing.T) {
		// The fanout exchange is "<topic>_fanout" whatever the control
		// exchange, as in oslo.
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCast, Topic: topic, Fanout: true, Method: "record", Args: map[string]any{"n": "fan"}})
		if err != nil || !r.OK {
			t.Fatalf("fanout cast: %v %+v", err, r)
		}
		for _, s := range servers {
			if c := nextCast(t, s.casts); c.Args["n"] != "fan" {
				t.Fatalf("%s got %+v", s.name, c)
			}
		}
	})
	t.Run("a specific server among several", func(t *testing.T) {
		for _, name := range []string{"srv-b", "srv-c", "srv-a"} {
			r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Server: name, Method: "whoami", Timeout: 20})
			if err != nil || !r.OK || string(r.Result) != `"`+name+`"` {
				t.Fatalf("call to %s: %v %s %s", name, err, r.Result, r.Msg)
			}
		}
	})
	t.Run("calls are distributed over the topic", func(t *testing.T) {
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 60, Topic: topic, Method: "whoami", Timeout: 30})
		if err != nil || !r.OK {
			t.Fatalf("%v %+v", err, r.Msg)
		}
		seen := map[string]int{}
		for _, x := range r.Results {
			var name string
			_ = json.Unmarshal(x.Result, &name)
			seen[name]++
		}
		if len(seen) < 2 {
			t.Fatalf("distribution %v: want calls served by at least two servers", seen)
		}
	})
	t.Run("exchanges are isolated", func(t *testing.T) {
		// Queues are named by topic only (as in oslo), so isolation means: a
		// request sent through another exchange never reaches this server.
		isolated := pypeer.UniqueName(t, "py2goiso")
		startGoServer(t, serverOpts{topic: isolated, server: "iso", exchange: "oslohost-x1"})
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: isolated, Exchange: "oslohost-x2", Method: "whoami", Timeout: 2})
		if err != nil || r.OK || r.ExcClass != "MessagingTimeout" {
			t.Fatalf("call through another exchange: err=%v ok=%v %s %s, want MessagingTimeout", err, r.OK, r.ExcClass, r.Result)
		}
		r, err = py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: isolated, Exchange: "oslohost-x1", Method: "whoami", Timeout: 20})
		if err != nil || string(r.Result) != `"iso"` {
			t.Fatalf("call through the server's exchange: %v %s %s", err, r.Result, r.Msg)
		}
	})
}
