package pypeer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/test/pypeer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestHarness proves the Python peers against each other: real client,
// real server, real broker.
func TestHarness(t *testing.T) {
	exchange := pypeer.UniqueName(t, "pypeer-x")
	srv := pypeer.StartServer(t, pypeer.ServerOptions{Exchange: exchange})
	cli := pypeer.StartClient(t, pypeer.ClientOptions{Exchange: exchange, AllowedExmods: []string{"wire_exc"}})
	topic, server := srv.Options().Topic, srv.Options().Server

	do := func(t *testing.T, cmd pypeer.Command) pypeer.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if cmd.Topic == "" {
			cmd.Topic = topic
		}
		if cmd.Timeout == 0 && cmd.Op != pypeer.OpCast {
			cmd.Timeout = 20
		}
		r, err := cli.Do(ctx, cmd)
		if err != nil {
			t.Fatalf("Do(%+v): %v", cmd, err)
		}
		return r
	}

	t.Run("call echo", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "echo",
			Args: map[string]any{"value": "héllo", "n": 7},
			Ctxt: map[string]any{"user_id": "u1"}})
		if !r.OK {
			t.Fatalf("echo failed: %s: %s", r.ExcClass, r.Msg)
		}
		var got struct {
			Value    string         `json:"value"`
			Kwargs   map[string]any `json:"kwargs"`
			CtxtSeen map[string]any `json:"ctxt_seen"`
			Server   string         `json:"server"`
		}
		if err := r.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if got.Value != "héllo" || got.Kwargs["n"] != float64(7) || got.Server != server {
			t.Errorf("echo result = %s", r.Result)
		}
		if v, ok := got.CtxtSeen["client_timeout"]; got.CtxtSeen["user_id"] != "u1" || !ok || v != nil {
			t.Errorf("ctxt_seen = %v, want user_id u1 and client_timeout null", got.CtxtSeen)
		}
	})

	t.Run("fail_value is rebuilt as ValueError", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "fail_value",
			Args: map[string]any{"msg": "v1"}, CheckIsinstance: []string{"ValueError", "KeyError"}})
		if r.OK || r.ExcClass != "ValueError" || r.ExcModule != "builtins" {
			t.Fatalf("got ok=%v %s.%s, want builtins.ValueError", r.OK, r.ExcModule, r.ExcClass)
		}
		if !r.Isinstance["ValueError"] || r.Isinstance["KeyError"] {
			t.Errorf("isinstance = %v", r.Isinstance)
		}
	})

	t.Run("fail_custom with allowed module", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "fail_custom",
			Args: map[string]any{"msg": "custom", "code": 42}, CheckIsinstance: []string{"wire_exc.WireError"}})
		if r.ExcClass != "WireError_Remote" || r.ExcModule != "wire_exc_Remote" ||
			!r.Isinstance["wire_exc.WireError"] || r.ExcKwargs["code"] != float64(42) {
			t.Errorf("got %s.%s kwargs=%v isinstance=%v", r.ExcModule, r.ExcClass, r.ExcKwargs, r.Isinstance)
		}
	})

	t.Run("unknown method is RemoteError", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "does_not_exist"})
		if r.ExcClass != "RemoteError" || r.ExcType != "NoSuchMethod" {
			t.Errorf("got %s exc_type=%q", r.ExcClass, r.ExcType)
		}
	})

	t.Run("cast reaches record", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCast, Method: "record",
			Args: map[string]any{"k": "v"}, Ctxt: map[string]any{"request_id": "req-1"}})
		if !r.OK {
			t.Fatalf("cast failed: %s: %s", r.ExcClass, r.Msg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		casts, err := srv.Casts(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		c := casts[0]
		if c.Kwargs["k"] != "v" || c.Ctxt["request_id"] != "req-1" || c.Server != server {
			t.Errorf("cast = %+v", c)
		}
	})

	t.Run("ping", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpPing, Server: server})
		var got string
		if err := r.Decode(&got); err != nil || got != "pong" {
			t.Errorf("ping = %s (%v)", r.Result, err)
		}
	})

	t.Run("namespaced version", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "vmeth", Namespace: "ns1", Version: "1.2"})
		var got string
		if err := r.Decode(&got); err != nil || got != "ns1 endpoint, version 1.3" {
			t.Errorf("vmeth = %s (%v)", r.Result, err)
		}
	})

	t.Run("can_send_version", func(t *testing.T) {
		for v, want := range map[string]bool{"1.3": true, "1.5": false, "2.0": false, "": false} {
			r := do(t, pypeer.Command{Op: pypeer.OpCanSendVersion, Version: v, VersionCap: "1.4"})
			var got bool
			if err := r.Decode(&got); err != nil || got != want {
				t.Errorf("can_send_version(%q) with cap 1.4 = %s (%v), want %v", v, r.Result, err, want)
			}
		}
	})

	t.Run("commands run concurrently", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		slowDone := make(chan error, 1)
		go func() {
			r, err := cli.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "slow",
				Args: map[string]any{"seconds": 3}, Timeout: 20})
			if err == nil && !r.OK {
				err = errors.New(r.Msg)
			}
			slowDone <- err
		}()
		r := do(t, pypeer.Command{Op: pypeer.OpCall, Method: "whoami"})
		select {
		case err := <-slowDone:
			t.Errorf("slow call finished (err=%v) before the quick one returned", err)
		default:
		}
		if !r.OK {
			t.Errorf("whoami: %s", r.Msg)
		}
		if err := <-slowDone; err != nil {
			t.Errorf("slow: %v", err)
		}
	})

	t.Run("concurrent_calls", func(t *testing.T) {
		r := do(t, pypeer.Command{Op: pypeer.OpConcurrentCalls, N: 3, Method: "echo", Args: map[string]any{"value": 1}})
		if !r.OK || len(r.Results) != 3 {
			t.Fatalf("ok=%v results=%d", r.OK, len(r.Results))
		}
	})

	t.Run("bad command is an error", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := cli.Do(ctx, pypeer.Command{Op: "bogus", Topic: topic}); err == nil {
			t.Error("Do(bogus) returned no error")
		}
	})
}

func TestUniqueName(t *testing.T) {
	a, b := pypeer.UniqueName(t, "x"), pypeer.UniqueName(t, "x")
	if a == b || len(a) != len("x-")+12 {
		t.Errorf("UniqueName gave %q and %q", a, b)
	}
}

// TestNotifyHarness proves the notification peers against each other: the
// Python Notifier (client op notify) to the Python listener, with a pool
// and requeue.
func TestNotifyHarness(t *testing.T) {
	exchange := pypeer.UniqueName(t, "pypeer-nx")
	topic := pypeer.UniqueName(t, "pypeer-notif")
	pool := pypeer.UniqueName(t, "pypeer-pool")
	t.Cleanup(func() { deleteQueues(pool, topic+".error") }) // after the peers stopped
	cli := pypeer.StartClient(t, pypeer.ClientOptions{Exchange: exchange})
	l := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Exchange: exchange, Topics: []string{topic},
		Pool: pool, AllowRequeue: true, RequeueFirst: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := cli.Do(ctx, pypeer.Command{Op: pypeer.OpNotify, PublisherID: "harness.host", Topics: []string{topic},
		Priority: "error", EventType: "harness.event", Payload: map[string]any{"k": "v"},
		Ctxt: map[string]any{"user_id": "u1", "auth_token": "secret"}})
	if err != nil || !r.OK {
		t.Fatalf("notify: %v %+v", err, r)
	}
	got, err := l.Notifications(ctx, 2)
	if err != nil {
		t.Fatalf("%v\n%s", err, l.Stderr())
	}
	first, second := got[0], got[1]
	if first.Priority != "error" || first.EventType != "harness.event" || first.PublisherID != "harness.host" ||
		string(first.Payload) != `{"k": "v"}` || first.Result != "requeue" {
		t.Errorf("first call %+v", first)
	}
	if _, ok := first.Ctxt["auth_token"]; ok || first.Ctxt["user_id"] != "u1" {
		t.Errorf("ctxt %v", first.Ctxt)
	}
	if second.Result != "handled" || second.Metadata.MessageID != first.Metadata.MessageID {
		t.Errorf("second call %+v", second)
	}
	if _, err := cli.Do(ctx, pypeer.Command{Op: pypeer.OpNotify, Priority: "loud", EventType: "x"}); err == nil {
		t.Error("unknown priority accepted")
	}
}

// deleteQueues removes queues without x-expires that a test left behind.
func deleteQueues(names ...string) {
	u, err := rabbit.ParseURL(pypeer.URL())
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "cleanup"})
	if err != nil {
		return
	}
	defer conn.Close()
	ch, _, err := conn.Channel(ctx)
	if err != nil {
		return
	}
	defer ch.Close()
	for _, n := range names {
		_, _ = ch.QueueDelete(n, false, false, false)
	}
}
