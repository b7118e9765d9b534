package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestPluginCallsThroughHost: the faulty plugin reaches the broker through
// the host's Host service (sdk.Host), with no broker credentials of its
// own: a Python client calls faulty.relay, which calls the hello plugin
// served on another topic and answers its result; a remote error of the
// relayed call reaches the caller with its module and class; a
// notification sent by faulty.announce reaches a Python listener.
func TestPluginCallsThroughHost(t *testing.T) {
	pypeer.Python(t)
	prefix := pypeer.UniqueName(t, "hsvc")
	ntopic := pypeer.UniqueName(t, "hsvcntf")
	cfg := transportBlock() + adminBlock + fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
plugin "hello" {
  command = %q
}
plugin "echo" {
  command = %q
}
server "faulty" {
  topic   = "%[4]s-faulty"
  plugins = ["faulty"]
}
server "hello" {
  topic   = "%[4]s-hello"
  plugins = ["hello"]
}
server "echo" {
  topic   = "%[4]s-echo"
  plugins = ["echo"]
}
`, bin.faulty, bin.hello, bin.echo, prefix)
	runHost(t, writeConfig(t, cfg))
	listener := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Topics: []string{ntopic}})
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 2*time.Minute)
	relay := func(t *testing.T, topic, method string, args map[string]any) pypeer.Result {
		t.Helper()
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: prefix + "-faulty", Method: "relay", Timeout: 30,
			Args: map[string]any{"topic": prefix + "-" + topic, "remote_method": method, "args": args}})
		if err != nil {
			t.Fatalf("relay %s: %v", method, err)
		}
		return r
	}

	t.Run("relayed call", func(t *testing.T) {
		r := relay(t, "hello", "hello", map[string]any{"name": "oslo"})
		var got string
		if !r.OK {
			t.Fatalf("relay failed: %s.%s %s", r.ExcModule, r.ExcClass, r.Msg)
		}
		if err := r.Decode(&got); err != nil || got != "hello, oslo" {
			t.Fatalf("relay result = %s, %v; want \"hello, oslo\"", r.Result, err)
		}
	})
	t.Run("relayed builtin error", func(t *testing.T) {
		r := relay(t, "echo", "raise_error", map[string]any{"exc_class": "KeyError", "message": "gone"})
		if r.OK || r.ExcClass != "KeyError" || r.ExcModule != "builtins" {
			t.Fatalf("relay raise_error = ok %v %s.%s %q; want builtins.KeyError", r.OK, r.ExcModule, r.ExcClass, r.Msg)
		}
	})
	t.Run("relayed error keeps module and class", func(t *testing.T) {
		// Python cannot import nova here (it raises RemoteError naming the
		// class); a Go client sees the module too.
		r := relay(t, "echo", "raise_error", map[string]any{"exc_module": "nova.exception", "exc_class": "InstanceNotFound", "message": "no i-1"})
		if r.OK || r.ExcClass != "RemoteError" || r.ExcType != "InstanceNotFound" || r.ExcValue != "no i-1" {
			t.Errorf("python: ok %v %s.%s exc_type %q value %q; want RemoteError of InstanceNotFound", r.OK, r.ExcModule, r.ExcClass, r.ExcType, r.ExcValue)
		}
		tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		c := client.New(tr, oslo.Target{Topic: prefix + "-faulty"}, client.Timeout(30*time.Second))
		err = c.Call(ctx, nil, "relay", map[string]any{"topic": prefix + "-echo", "remote_method": "raise_error",
			"args": map[string]any{"exc_module": "nova.exception", "exc_class": "InstanceNotFound", "message": "no i-1"}}, nil)
		var re *client.RemoteError
		if !errors.As(err, &re) || re.Module != "nova.exception" || re.Class != "InstanceNotFound" || re.Message != "no i-1" {
			t.Errorf("go: err = %#v, want nova.exception.InstanceNotFound", err)
		}
	})
	t.Run("relayed call to nobody times out", func(t *testing.T) {
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: prefix + "-faulty", Method: "relay", Timeout: 60,
			Args: map[string]any{"topic": prefix + "-nobody", "remote_method": "hello", "timeout": 2}})
		if err != nil {
			t.Fatal(err)
		}
		// Relay gives up after 2 s; the SDK turns the timeout into
		// builtins.TimeoutError (context.DeadlineExceeded).
		if r.OK || r.ExcClass != "TimeoutError" {
			t.Errorf("relay to nobody = ok %v %s.%s %q; want TimeoutError", r.OK, r.ExcModule, r.ExcClass, r.Msg)
		}
	})
	t.Run("notification", func(t *testing.T) {
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: prefix + "-faulty", Method: "announce", Timeout: 30,
			Args: map[string]any{"topic": ntopic, "event_type": "faulty.announced", "priority": "warn", "payload": map[string]any{"n": 1}},
			Ctxt: map[string]any{"request_id": "req-hsvc", "user": "u1"}})
		if err != nil || !r.OK {
			t.Fatalf("announce: %v %s.%s %s", err, r.ExcModule, r.ExcClass, r.Msg)
		}
		ns, err := listener.Notifications(ctx, 1)
		if err != nil {
			t.Fatalf("listener: %v\n%s", err, listener.Stderr())
		}
		n := ns[0]
		var payload map[string]any
		_ = json.Unmarshal(n.Payload, &payload)
		if n.Priority != "warn" || n.EventType != "faulty.announced" || n.PublisherID != "faulty.v1" || payload["n"] != float64(1) {
			t.Errorf("notification = %+v (payload %s)", n, n.Payload)
		}
		if n.Ctxt["request_id"] != "req-hsvc" {
			t.Errorf("notification context = %v, want the caller's request_id forwarded", n.Ctxt)
		}
	})
}
