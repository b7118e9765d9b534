package interop

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// dialClient opens a Go client transport closed at cleanup.
func dialClient(t testing.TB, exchange string) *client.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL(), ControlExchange: exchange, Logger: logger(t), Name: "test-client"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestGoClientToPythonServer runs the Go client against the real Python
// oslo.messaging server.
func TestGoClientToPythonServer(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "go2py")
	py := pypeer.StartServer(t, pypeer.ServerOptions{Topic: topic, Server: "pysrv1"})
	tr := dialClient(t, "")
	c := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))

	t.Run("call with context, unicode and nested JSON", func(t *testing.T) {
		t.Parallel()
		args := map[string]any{"value": "h\u00e9llo \U0001F600", "number": 7, "nested": map[string]any{"a": []any{1, 2.5, nil, true}}}
		ctxt := map[string]any{"user_id": "go-user", "request_id": "req-go", "roles": []any{"admin"}}
		var got map[string]any
		if err := c.Call(bg(t, time.Minute), ctxt, "echo", args, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"value":     args["value"],
			"kwargs":    map[string]any{"number": float64(7), "nested": map[string]any{"a": []any{float64(1), 2.5, nil, true}}},
			"ctxt_seen": map[string]any{"user_id": "go-user", "request_id": "req-go", "roles": []any{"admin"}, "client_timeout": nil},
			"server":    "pysrv1",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("echo mismatch (-want +got):\n%s", d)
		}
	})
	t.Run("raw result keeps numbers exact", func(t *testing.T) {
		t.Parallel()
		var raw json.RawMessage
		if err := c.Call(bg(t, time.Minute), nil, "echo", json.RawMessage(`{"value": 12345678901234567890}`), &raw); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), "12345678901234567890") {
			t.Fatalf("big integer lost: %s", raw)
		}
	})
	t.Run("none result", func(t *testing.T) {
		t.Parallel()
		var got any = "sentinel"
		if err := c.Call(bg(t, time.Minute), nil, "none_result", nil, &got); err != nil || got != nil {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("cast", func(t *testing.T) {
		t.Parallel()
		if err := c.Cast(bg(t, time.Minute), map[string]any{"request_id": "req-cast"}, "record", map[string]any{"n": "go-cast"}); err != nil {
			t.Fatal(err)
		}
		casts, err := py.Casts(bg(t, 15*time.Second), 1)
		if err != nil {
			t.Fatal(err)
		}
		if casts[0].Kwargs["n"] != "go-cast" || casts[0].Ctxt["request_id"] != "req-cast" {
			t.Fatalf("cast arrived as %+v", casts[0])
		}
	})
	t.Run("ValueError", func(t *testing.T) {
		t.Parallel()
		err := c.Call(bg(t, time.Minute), nil, "fail_value", map[string]any{"msg": "py says no"}, nil)
		var re *client.RemoteError
		if !errors.As(err, &re) || re.Class != "ValueError" || re.Module != "builtins" || re.Message != "py says no" {
			t.Fatalf("got %#v", err)
		}
		if !errors.Is(err, &client.RemoteError{Module: "builtins", Class: "ValueError"}) {
			t.Fatal("errors.Is does not match the remote class")
		}
		if len(re.Traceback) == 0 || !strings.Contains(re.TracebackText(), "raise ValueError") {
			t.Fatalf("traceback %q", re.Traceback)
		}
	})
	t.Run("custom exception keeps module and kwargs", func(t *testing.T) {
		t.Parallel()
		err := c.Call(bg(t, time.Minute), nil, "fail_custom", map[string]any{"msg": "custom", "code": 9}, nil)
		var re *client.RemoteError
		if !errors.As(err, &re) || re.Class != "WireError" || re.Module != "wire_exc" || string(re.Kwargs) != `{"code": 9}` {
			t.Fatalf("got %#v", err)
		}
	})
	t.Run("unknown and private methods", func(t *testing.T) {
		t.Parallel()
		for _, m := range []string{"does_not_exist", "_private"} {
			err := c.Call(bg(t, time.Minute), nil, m, nil, nil)
			var re *client.RemoteError
			if !errors.As(err, &re) || re.Class != "NoSuchMethod" || re.Module != oslo.ModuleDispatcher ||
				re.Message != "Endpoint does not support RPC method "+m {
				t.Fatalf("%s: got %#v", m, err)
			}
		}
	})
	t.Run("namespace and version", func(t *testing.T) {
		t.Parallel()
		ns := c.Prepare(client.Namespace("ns1"), client.Version("1.2"))
		var got string
		if err := ns.Call(bg(t, time.Minute), nil, "vmeth", nil, &got); err != nil || got != "ns1 endpoint, version 1.3" {
			t.Fatalf("got %q, %v", got, err)
		}
		err := ns.Prepare(client.Version("1.4")).Call(bg(t, time.Minute), nil, "vmeth", nil, nil)
		var re *client.RemoteError
		if !errors.As(err, &re) || re.Class != "UnsupportedVersion" || re.Message != "Endpoint does not support RPC version 1.4. Attempted method: vmeth" {
			t.Fatalf("got %#v", err)
		}
		if err := c.Prepare(client.Version("7.0")).Call(bg(t, time.Minute), nil, "v75", nil, &got); err != nil || got != "7.5" {
			t.Fatalf("v75 at 7.0: %q %v", got, err)
		}
	})
	t.Run("server-targeted call and ping", func(t *testing.T) {
		t.Parallel()
		var got string
		if err := c.Prepare(client.Server("pysrv1")).Call(bg(t, time.Minute), nil, "whoami", nil, &got); err != nil || got != "pysrv1" {
			t.Fatalf("whoami: %q %v", got, err)
		}
		if err := c.Prepare(client.Server("pysrv1")).Call(bg(t, time.Minute), nil, "oslo_rpc_server_ping", nil, &got); err != nil || got != "pong" {
			t.Fatalf("ping: %q %v", got, err)
		}
	})
	t.Run("long call kept alive by heartbeats", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		var got string
		err := c.Prepare(client.Timeout(time.Hour), client.CallMonitorTimeout(2*time.Second)).Call(bg(t, time.Minute), nil, "slow", map[string]any{"seconds": 4}, &got)
		if err != nil || got != "slept 4" || time.Since(start) < 4*time.Second {
			t.Fatalf("got %q, %v after %v", got, err, time.Since(start))
		}
	})
	t.Run("call-monitor timeout without heartbeats", func(t *testing.T) {
		t.Parallel()
		// A _timeout of 1 gets no heartbeats from Python (interval < 1 s),
		// so the call-monitor timer fires.
		err := c.Prepare(client.Timeout(time.Hour), client.CallMonitorTimeout(time.Second)).Call(bg(t, time.Minute), nil, "slow", map[string]any{"seconds": 3}, nil)
		var te *client.TimeoutError
		if !errors.As(err, &te) || !te.CallMonitor {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		err := c.Prepare(client.Timeout(time.Second)).Call(bg(t, time.Minute), nil, "slow", map[string]any{"seconds": 3}, nil)
		if !errors.Is(err, client.ErrTimeout) || time.Since(start) > 2500*time.Millisecond {
			t.Fatalf("got %v after %v", err, time.Since(start))
		}
		if !strings.HasPrefix(err.Error(), "Timed out waiting for a reply to message ID ") {
			t.Fatalf("message %q", err)
		}
	})
	t.Run("undeliverable", func(t *testing.T) {
		t.Parallel()
		err := c.Prepare(client.Topic(pypeer.UniqueName(t, "nobody")), client.AtLeastOnce(true)).Call(bg(t, time.Minute), nil, "echo", nil, nil)
		if !errors.Is(err, client.ErrUndeliverable) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("version cap", func(t *testing.T) {
		t.Parallel()
		capped := c.Prepare(client.VersionCap("1.4"))
		err := capped.Prepare(client.Version("1.5")).Call(bg(t, time.Minute), nil, "echo", nil, nil)
		var ve *client.VersionCapError
		if !errors.As(err, &ve) {
			t.Fatalf("got %v", err)
		}
		got := []bool{capped.CanSendVersion("1.3"), capped.CanSendVersion("1.5"), capped.CanSendVersion("2.0"), capped.CanSendVersion("")}
		if d := cmp.Diff([]bool{true, false, false, false}, got); d != "" {
			t.Fatal(d)
		}
	})
	t.Run("fanout call is refused", func(t *testing.T) {
		t.Parallel()
		if err := c.Prepare(client.Fanout(true)).Call(bg(t, time.Minute), nil, "echo", nil, nil); !errors.Is(err, client.ErrInvalidTarget) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("1 MiB payload", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("y", 1<<20)
		var got struct{ Value string }
		if err := c.Call(bg(t, time.Minute), nil, "echo", map[string]any{"value": big}, &got); err != nil || got.Value != big {
			t.Fatalf("err=%v len=%d", err, len(got.Value))
		}
	})
	t.Run("200 concurrent calls on one reply queue", func(t *testing.T) {
		t.Parallel()
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got struct{ Value float64 }
				err := c.Call(bg(t, time.Minute), nil, "echo", map[string]any{"value": i}, &got)
				if err == nil && got.Value != float64(i) {
					err = errors.New("reply routed to the wrong call")
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestGoClientFanoutToPythonServers casts to every Python server of a topic.
func TestGoClientFanoutToPythonServers(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "go2pyfan")
	a := pypeer.StartServer(t, pypeer.ServerOptions{Topic: topic, Server: "a"})
	b := pypeer.StartServer(t, pypeer.ServerOptions{Topic: topic, Server: "b"})
	c := client.New(dialClient(t, ""), oslo.Target{Topic: topic, Fanout: true})
	if err := c.Cast(bg(t, time.Minute), nil, "record", map[string]any{"n": "fan"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*pypeer.Server{a, b} {
		casts, err := s.Casts(bg(t, 15*time.Second), 1)
		if err != nil || casts[0].Kwargs["n"] != "fan" {
			t.Fatalf("server %s: %v %+v", s.Options().Server, err, casts)
		}
	}
}
