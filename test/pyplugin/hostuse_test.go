package pyplugin

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestPythonPluginUsesHost: a Python plugin's config block, its logging,
// its outgoing calls, casts and notifications through the host (to a Python
// oslo server and back to its own listener), and its notification endpoint
// (handled; requeue and a raising handler both redelivered, as oslo does).
func TestPythonPluginUsesHost(t *testing.T) {
	topic := pypeer.UniqueName(t, "pyuse")
	ntopic := pypeer.UniqueName(t, "pyusen")
	h := runHost(t, pluginBlock("hu", paths.testdata, "hostuse:Relay", `"--notification-endpoint", "hostuse:Audit"`, `{ answer = 42, name = "x" }`)+
		serverBlock("hu", topic, "s1", "hu")+`
listener "hu" {
  topics  = [`+jsonString(ntopic)+`]
  plugins = ["hu"]
}
`)
	peer := pypeer.StartServer(t, pypeer.ServerOptions{})
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	call := func(t *testing.T, method string, args map[string]any) pypeer.Result {
		t.Helper()
		r, err := py.Do(hostproc.Context(t, 60*time.Second), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Namespace: "relay", Method: method, Args: args, Timeout: 30,
			Ctxt: map[string]any{"request_id": "req-relay"}})
		if err != nil {
			t.Fatalf("python client: %v", err)
		}
		if !r.OK {
			t.Fatalf("%s: %s.%s %s", method, r.ExcModule, r.ExcClass, r.Msg)
		}
		return r
	}
	ptopic := peer.Options().Topic

	t.Run("config block", func(t *testing.T) {
		r := call(t, "config", nil)
		if string(r.Result) != `{"config": {"answer": 42, "name": "x"}, "name": "hu"}` {
			t.Fatalf("config: %s", r.Result)
		}
	})
	t.Run("logging and print reach the host", func(t *testing.T) {
		call(t, "log", map[string]any{"msg": "hello-from-python"})
		hostproc.WaitFor(t, 10*time.Second, "the log line in the host's log", func() bool {
			log := h.Log()
			return strings.Contains(log, "[WARN]  oslohost.plugin.hu: endpoint says hello-from-python") &&
				strings.Contains(log, "[INFO]  oslohost.plugin.hu.stdout: printed hello-from-python")
		})
	})
	t.Run("call through the host", func(t *testing.T) {
		r := call(t, "relay_call", map[string]any{"topic": ptopic, "meth": "echo", "value": "v"})
		var got struct {
			Value    string
			CtxtSeen map[string]any `json:"ctxt_seen"`
		}
		if err := r.Decode(&got); err != nil || got.Value != "v" || got.CtxtSeen["request_id"] != "req-relay" {
			t.Fatalf("relayed echo: %s %v", r.Result, err)
		}
	})
	t.Run("remote failure raised as oslo raises it", func(t *testing.T) {
		r := call(t, "relay_fail", map[string]any{"topic": ptopic, "meth": "fail_value", "msg": "peer says no"})
		if string(r.Result) != `{"class": "ValueError", "module": "builtins", "message": "peer says no"}` {
			t.Fatalf("relayed failure: %s", r.Result)
		}
		r = call(t, "relay_fail", map[string]any{"topic": ptopic, "meth": "fail_custom", "msg": "custom"})
		if !strings.Contains(string(r.Result), `"class": "RemoteError"`) {
			t.Fatalf("relayed custom failure: %s", r.Result)
		}
		if r := call(t, "relay_timeout", map[string]any{"topic": ptopic}); string(r.Result) != `"MessagingTimeout"` {
			t.Fatalf("relayed timeout: %s", r.Result)
		}
		if r := call(t, "relay_version_cap", map[string]any{"topic": ptopic}); string(r.Result) != `[true, false, "RPCVersionCapError"]` {
			t.Fatalf("version cap: %s", r.Result)
		}
	})
	t.Run("cast through the host", func(t *testing.T) {
		call(t, "relay_cast", map[string]any{"topic": ptopic, "n": "relayed-cast"})
		casts, err := peer.Casts(hostproc.Context(t, 20*time.Second), 1)
		if err != nil || casts[0].Kwargs["n"] != "relayed-cast" || casts[0].Ctxt["request_id"] != "req-relay" {
			t.Fatalf("casts %+v %v", casts, err)
		}
	})
	t.Run("notifications", func(t *testing.T) {
		notify := func(prio, event string, payload any) {
			t.Helper()
			r, err := py.Do(hostproc.Context(t, 30*time.Second), pypeer.Command{Op: pypeer.OpNotify, Topics: []string{ntopic},
				PublisherID: "compute.host1", Priority: prio, EventType: event, Payload: payload})
			if err != nil || !r.OK {
				t.Fatalf("notify: %v %s", err, r.Msg)
			}
		}
		notify("info", "test.plain", map[string]any{"n": 1})
		notify("info", "test.requeued", map[string]any{"requeue_once": true})
		notify("error", "test.raising", map[string]any{"n": 3})
		notify("debug", "test.unhandled", nil) // no debug method: not subscribed
		call(t, "relay_notify", map[string]any{"topic": ntopic, "event_type": "test.relayed", "payload": map[string]any{"n": 4}})
		var seen []map[string]any
		hostproc.WaitFor(t, 30*time.Second, "the notifications handled", func() bool {
			r := call(t, "seen", nil)
			seen = nil
			_ = json.Unmarshal(r.Result, &seen)
			return len(seen) >= 5
		})
		events := map[string]int{}
		for _, n := range seen {
			events[n["event_type"].(string)]++
		}
		want := map[string]int{"test.plain": 1, "test.requeued": 1, "test.raising": 2, "test.relayed": 1}
		if len(events) != len(want) {
			t.Fatalf("events %v, want %v", events, want)
		}
		for k, v := range want {
			if events[k] != v {
				t.Fatalf("events %v, want %v", events, want)
			}
		}
	})
}

// TestPythonBatchNotifications: a batch notification endpoint behind a
// listener with a batch block gets several notifications per call, and a
// REQUEUE requeues its whole batch, as oslo's batch listener does.
func TestPythonBatchNotifications(t *testing.T) {
	topic := pypeer.UniqueName(t, "pybatch")
	ntopic := pypeer.UniqueName(t, "pybatchn")
	runHost(t, pluginBlock("hb", paths.testdata, "hostuse:Relay", `"--batch-notification-endpoint", "hostuse:BatchAudit"`, "")+
		serverBlock("hb", topic, "s1", "hb")+`
listener "hb" {
  topics  = [`+jsonString(ntopic)+`]
  plugins = ["hb"]
  batch {
    size    = 4
    timeout = "500ms"
  }
}
`)
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	payloads := []map[string]any{{"n": 1}, {"n": 2}, {"n": 3, "requeue_batch_once": true}, {"n": 4}}
	done := make(chan error, len(payloads))
	for _, p := range payloads {
		go func() {
			r, err := py.Do(hostproc.Context(t, 30*time.Second), pypeer.Command{Op: pypeer.OpNotify, Topics: []string{ntopic},
				PublisherID: "compute.host1", Priority: "info", EventType: "test.batch", Payload: p})
			if err == nil && !r.OK {
				err = fmt.Errorf("notify: %s", r.Msg)
			}
			done <- err
		}()
	}
	for range payloads {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var seen []struct {
		Batch   int
		Payload map[string]any
	}
	hostproc.WaitFor(t, 30*time.Second, "the marked notification handled after its requeue", func() bool {
		r, err := py.Do(hostproc.Context(t, 30*time.Second), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Namespace: "relay", Method: "seen", Timeout: 20})
		if err != nil || !r.OK {
			t.Fatalf("seen: %v %s", err, r.Msg)
		}
		seen = nil
		_ = json.Unmarshal(r.Result, &seen)
		marked := 0
		for _, s := range seen {
			if s.Payload["requeue_batch_once"] == true {
				marked++
			}
		}
		return marked >= 2
	})
	count, maxBatch := map[float64]int{}, 0
	for _, s := range seen {
		count[s.Payload["n"].(float64)]++
		maxBatch = max(maxBatch, s.Batch)
	}
	for n := 1.0; n <= 4; n++ {
		if count[n] == 0 {
			t.Fatalf("notification %v never handled: %+v", n, seen)
		}
	}
	if maxBatch < 2 {
		t.Fatalf("no batch of more than one notification: %+v", seen)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
