package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/listener"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// notifyCtxt is a request context with keys the notifier must drop.
var notifyCtxt = map[string]any{
	"user_id": "u1", "project_id": "p1", "request_id": "req-abc",
	"roles": []any{"admin", "member"}, "is_admin": true,
	"auth_token": "SECRET-TOKEN", "custom_key": "not whitelisted",
}

// notifyCtxtSeen is what a Python endpoint receives for notifyCtxt.
var notifyCtxtSeen = map[string]any{
	"user_id": "u1", "project_id": "p1", "request_id": "req-abc",
	"roles": []any{"admin", "member"}, "is_admin": true, "client_timeout": nil,
}

type sendFunc func(ctx context.Context, reqCtx any, eventType string, payload any) error

func notifierMethods(n *client.Notifier) map[string]sendFunc {
	return map[string]sendFunc{
		"audit": n.Audit, "debug": n.Debug, "info": n.Info, "warn": n.Warn,
		"error": n.Error, "critical": n.Critical, "sample": n.Sample,
	}
}

// TestGoNotifierToPythonListener: a Python NotificationListener receives
// what the Go Notifier sends, every priority, with the same fields as
// what a Python Notifier sends alongside.
func TestGoNotifierToPythonListener(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "notifx")
	topic := pypeer.UniqueName(t, "go2pynotif")
	deleteQueues(t, priorityQueues(topic)...)
	py := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Exchange: exchange, Topics: []string{topic}})
	pyc := pypeer.StartClient(t, pypeer.ClientOptions{Exchange: exchange})
	tr := dialClient(t, exchange)
	n, err := client.NewNotifier(tr, "go.host1", client.Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	methods := notifierMethods(n)
	for i, p := range oslo.Priorities() {
		payload := map[string]any{"priority": p, "n": i, "nested": map[string]any{"a": []any{1, "é"}}}
		if err := methods[p](bg(t, 30*time.Second), notifyCtxt, "go.event."+p, payload); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		r, err := pyc.Do(bg(t, 30*time.Second), pypeer.Command{Op: pypeer.OpNotify, PublisherID: "go.host1",
			Topics: []string{topic}, Priority: p, EventType: "py.event." + p, Payload: payload, Ctxt: notifyCtxt})
		if err != nil || !r.OK {
			t.Fatalf("python notify %s: %v %+v", p, err, r)
		}
	}
	// The v1 driver's bare messages are understood too.
	v1, err := n.Prepare("go.host2", client.Driver(client.DriverMessaging))
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.Info(bg(t, 30*time.Second), nil, "go.event.v1", "str payload"); err != nil {
		t.Fatal(err)
	}

	got, err := py.Notifications(bg(t, 60*time.Second), 15)
	if err != nil {
		t.Fatalf("%v\n%s", err, py.Stderr())
	}
	byEvent := map[string]pypeer.Notification{}
	for _, g := range got {
		if _, dup := byEvent[g.EventType]; dup {
			t.Errorf("%s received twice", g.EventType)
		}
		byEvent[g.EventType] = g
	}
	for _, p := range oslo.Priorities() {
		t.Run(p, func(t *testing.T) {
			gn, ok := byEvent["go.event."+p]
			if !ok {
				t.Fatalf("go.event.%s not received; got %v", p, got)
			}
			pn, ok := byEvent["py.event."+p]
			if !ok {
				t.Fatalf("py.event.%s not received", p)
			}
			if gn.Priority != p || gn.PublisherID != "go.host1" {
				t.Errorf("priority %q publisher %q, want %q go.host1", gn.Priority, gn.PublisherID, p)
			}
			if d := cmp.Diff(notifyCtxtSeen, gn.Ctxt); d != "" {
				t.Errorf("ctxt (-want +got):\n%s", d)
			}
			// The same fields as the Python notifier's message.
			if d := cmp.Diff(pn.Ctxt, gn.Ctxt); d != "" {
				t.Errorf("ctxt differs from Python's (-py +go):\n%s", d)
			}
			if d := cmp.Diff(rawJSON(t, pn.Payload), rawJSON(t, gn.Payload)); d != "" {
				t.Errorf("payload differs from Python's (-py +go):\n%s", d)
			}
			if gn.Priority != pn.Priority || gn.PublisherID != pn.PublisherID || gn.Result != "handled" {
				t.Errorf("go %+v, python %+v", gn, pn)
			}
			for _, md := range []struct{ who, id, ts string }{{"go", gn.Metadata.MessageID, gn.Metadata.Timestamp}, {"python", pn.Metadata.MessageID, pn.Metadata.Timestamp}} {
				if !dashedUUID4.MatchString(md.id) {
					t.Errorf("%s message_id %q is not a dashed uuid4", md.who, md.id)
				}
				checkTimestamp(t, md.ts)
			}
		})
	}
	if g := byEvent["go.event.v1"]; g.Priority != "info" || g.PublisherID != "go.host2" || string(g.Payload) != `"str payload"` {
		t.Errorf("v1 notification = %+v", g)
	}
}

// TestNotifierQueueWaitsForListener: the notifier declares the default
// queue, so notifications sent before any listener exists wait for it.
func TestNotifierQueueWaitsForListener(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "notifx")
	tr := dialClient(t, exchange)
	conn, _ := dial(t, pypeer.URL(), "inspect")

	t.Run("python listener", func(t *testing.T) {
		topic := pypeer.UniqueName(t, "early")
		deleteQueues(t, priorityQueues(topic)...)
		n, err := client.NewNotifier(tr, "go.early", client.Topics(topic))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Error(bg(t, 30*time.Second), nil, "early.error", map[string]any{"k": 1}); err != nil {
			t.Fatal(err)
		}
		if err := n.Sample(bg(t, 30*time.Second), nil, "early.sample", nil); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{topic + ".error", topic + ".sample"} {
			if st, ok := inspectQueue(t, conn, q); !ok || st.Messages != 1 {
				t.Fatalf("queue %s: exists %v, %+v; want 1 message waiting", q, ok, st)
			}
		}
		py := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Exchange: exchange, Topics: []string{topic}})
		got, err := py.Notifications(bg(t, 30*time.Second), 2)
		if err != nil {
			t.Fatal(err)
		}
		events := []string{got[0].EventType, got[1].EventType}
		sort.Strings(events)
		if events[0] != "early.error" || events[1] != "early.sample" {
			t.Errorf("got %v", events)
		}
	})

	t.Run("go listener", func(t *testing.T) {
		topic := pypeer.UniqueName(t, "early")
		deleteQueues(t, priorityQueues(topic)...)
		n, err := client.NewNotifier(tr, "go.early", client.Topics(topic))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Warn(bg(t, 30*time.Second), nil, "early.warn", "w"); err != nil {
			t.Fatal(err)
		}
		rec := newRecorder(nil)
		startGoListener(t, listener.Config{Exchange: exchange, Targets: []listener.Target{{Topic: topic}}, Handler: rec})
		got := rec.wait(t, 1, 30*time.Second)
		if got[0].EventType != "early.warn" || got[0].Priority != "warn" || string(got[0].Payload) != `"w"` {
			t.Errorf("got %s", describeMessage(got[0]))
		}
	})
}

// pyNotify sends one notification with the Python Notifier.
func pyNotify(t testing.TB, pyc *pypeer.Client, cmd pypeer.Command) {
	t.Helper()
	cmd.Op = pypeer.OpNotify
	r, err := pyc.Do(bg(t, 30*time.Second), cmd)
	if err != nil || !r.OK {
		t.Fatalf("python notify: %v %+v\n%s", err, r, pyc.Stderr())
	}
}

// TestPythonNotifierToGoListener: Go listeners receive what the Python
// Notifier sends, with pools, filters, batches and requeues.
func TestPythonNotifierToGoListener(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "notifx")
	pyc := pypeer.StartClient(t, pypeer.ClientOptions{Exchange: exchange})
	conn, _ := dial(t, pypeer.URL(), "inspect")
	newTopic := func(t *testing.T) string {
		topic := pypeer.UniqueName(t, "py2gonotif")
		deleteQueues(t, priorityQueues(topic)...)
		return topic
	}
	target := func(topic string) []listener.Target { return []listener.Target{{Topic: topic}} }

	t.Run("every priority", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		rec := newRecorder(nil)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Handler: rec})
		for i, p := range oslo.Priorities() {
			pyNotify(t, pyc, pypeer.Command{PublisherID: "py.host1", Topics: []string{topic}, Priority: p,
				EventType: "py.event." + p, Payload: map[string]any{"i": i, "s": "é"}, Ctxt: notifyCtxt})
		}
		got := rec.wait(t, 7, 30*time.Second)
		seen := map[string]bool{}
		for _, m := range got {
			seen[m.Priority] = true
			if m.EventType != "py.event."+m.Priority || m.PublisherID != "py.host1" || m.Topic != topic {
				t.Errorf("got %s from %s on topic %s", describeMessage(m), m.PublisherID, m.Topic)
			}
			if d := cmp.Diff(notifyCtxtSeen, contextJSON(m.Context)); d != "" {
				t.Errorf("%s context (-want +got):\n%s", m.Priority, d)
			}
			if !dashedUUID4.MatchString(m.Metadata.MessageID) {
				t.Errorf("message_id %q", m.Metadata.MessageID)
			}
			checkTimestamp(t, m.Metadata.Timestamp)
			if m.Attempts != 1 || m.Redelivered {
				t.Errorf("first delivery: %s", describeMessage(m))
			}
			var pl map[string]any
			if err := json.Unmarshal(m.Payload, &pl); err != nil || pl["s"] != "é" {
				t.Errorf("payload %s", m.Payload)
			}
		}
		if len(seen) != 7 || len(got) != 7 {
			t.Errorf("priorities seen %v in %d messages", seen, len(got))
		}
		stop()
		for _, p := range oslo.Priorities() {
			if st, ok := inspectQueue(t, conn, topic+"."+p); !ok || st.Messages != 0 {
				t.Errorf("queue %s.%s: exists %v %+v", topic, p, ok, st)
			}
		}
	})

	t.Run("pools", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		poolA, poolB, poolC := pypeer.UniqueName(t, "poolA"), pypeer.UniqueName(t, "poolB"), pypeer.UniqueName(t, "poolC")
		deleteQueues(t, poolA, poolB, poolC)
		recA, recB, recC1, recC2 := newRecorder(nil), newRecorder(nil), newRecorder(nil), newRecorder(nil)
		start := func(pool string, rec *recorder) func() {
			l, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Pool: pool,
				Priorities: []string{"info", "error"}, Handler: rec, Prefetch: 1})
			if q := l.Queues(); len(q) != 1 || q[0] != pool {
				t.Fatalf("queues %v, want [%s]", q, pool)
			}
			return stop
		}
		stops := []func(){start(poolA, recA), start(poolB, recB), start(poolC, recC1), start(poolC, recC2)}
		const n = 12
		for i := range n {
			p := "info"
			if i%3 == 0 {
				p = "error"
			}
			pyNotify(t, pyc, pypeer.Command{PublisherID: "py.pools", Topics: []string{topic}, Priority: p,
				EventType: fmt.Sprintf("pool.event.%d", i), Payload: i})
		}
		// A priority the pools do not listen to reaches none of them.
		pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "debug", EventType: "pool.debug"})
		events := func(ms []*listener.Message) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.EventType)
			}
			sort.Strings(out)
			return out
		}
		a, b := events(recA.wait(t, n, 30*time.Second)), events(recB.wait(t, n, 30*time.Second))
		deadline := time.Now().Add(30 * time.Second)
		for len(recC1.calls())+len(recC2.calls()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		for _, stop := range stops {
			stop()
		}
		if d := cmp.Diff(a, b); d != "" || len(a) != n {
			t.Errorf("pools A and B got different notifications (-A +B):\n%s", d)
		}
		c1, c2 := events(recC1.calls()), events(recC2.calls())
		c := events(append(recC1.calls(), recC2.calls()...))
		if d := cmp.Diff(a, c); d != "" {
			t.Errorf("pool C (two listeners) did not get each notification once (-A +C):\n%s", d)
		}
		if len(c1) == 0 || len(c2) == 0 {
			t.Errorf("the listeners of pool C did not share: %d and %d", len(c1), len(c2))
		}
		for _, q := range []string{poolA, poolB, poolC} {
			if st, ok := inspectQueue(t, conn, q); !ok || st.Messages != 0 {
				t.Errorf("pool queue %s: exists %v %+v", q, ok, st)
			}
		}
		// The debug one waits in the default queue the notifier declared.
		if st, ok := inspectQueue(t, conn, topic+".debug"); !ok || st.Messages != 1 {
			t.Errorf("queue %s.debug: exists %v %+v, want the debug notification", topic, ok, st)
		}
	})

	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		f, err := listener.FilterSpec{
			EventType:   `compute\.instance\.`,
			PublisherID: `^compute`,
			Context:     map[string]string{"user_id": "^alice$"},
			Payload:     map[string]string{"state": "active"},
		}.Compile()
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder(nil)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"info"},
			Filter: f, Handler: rec, Executor: executors.NewBlocking()})
		good := pypeer.Command{Topics: []string{topic}, Priority: "info", PublisherID: "compute.host1",
			EventType: "compute.instance.create.end", Ctxt: map[string]any{"user_id": "alice"},
			Payload: map[string]any{"state": "active", "id": 1}}
		bad := map[string]pypeer.Command{}
		c := good
		c.EventType = "volume.compute.instance.x" // re.match anchors at the start
		bad["event_type"] = c
		c = good
		c.PublisherID = "network.compute"
		bad["publisher_id"] = c
		c = good
		c.Ctxt = map[string]any{"user_id": "alice2"}
		bad["context value"] = c
		c = good
		c.Ctxt = map[string]any{"project_id": "p"}
		bad["context key missing"] = c
		c = good
		c.Payload = map[string]any{"state": "inactive"}
		bad["payload value"] = c
		c = good
		c.Payload = map[string]any{"state": 1}
		bad["payload not a string"] = c
		c = good
		c.Payload = "active"
		bad["payload not a dict"] = c
		for name, cmd := range bad {
			cmd.Payload = withTag(cmd.Payload, name)
			pyNotify(t, pyc, cmd)
		}
		// The blocking executor handles in order: when the good one
		// arrives, every bad one before it was screened out.
		pyNotify(t, pyc, good)
		got := rec.wait(t, 1, 30*time.Second)
		stop()
		if len(got) != 1 || got[0].EventType != good.EventType {
			for _, m := range got {
				t.Errorf("passed the filter: %s payload %s publisher %s", describeMessage(m), m.Payload, m.PublisherID)
			}
		}
		if st, _ := inspectQueue(t, conn, topic+".info"); st.Messages != 0 {
			t.Errorf("filtered notifications left in the queue: %+v", st)
		}
	})

	t.Run("batch size", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		rec := newRecorder(nil)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"info"},
			Batch: &listener.BatchConfig{Size: 5, Timeout: time.Minute}, BatchHandler: rec})
		for i := range 10 {
			pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "info", EventType: "batch.size", Payload: i})
		}
		rec.wait(t, 10, 30*time.Second)
		stop()
		if d := cmp.Diff([]int{5, 5}, rec.batchSizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
		if st, _ := inspectQueue(t, conn, topic+".info"); st.Messages != 0 {
			t.Errorf("queue not empty: %+v", st)
		}
	})

	t.Run("batch timeout", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		rec := newRecorder(nil)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"info"},
			Batch: &listener.BatchConfig{Size: 100, Timeout: 700 * time.Millisecond}, BatchHandler: rec})
		start := time.Now()
		for i := range 3 {
			pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "info", EventType: "batch.timeout", Payload: i})
		}
		rec.wait(t, 3, 30*time.Second)
		elapsed := time.Since(start)
		stop()
		if d := cmp.Diff([]int{3}, rec.batchSizes()); d != "" {
			t.Errorf("batch sizes (-want +got):\n%s", d)
		}
		if elapsed < 700*time.Millisecond {
			t.Errorf("batch delivered after %s, before its timeout", elapsed)
		}
	})

	t.Run("requeue leads to redelivery", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		var failed atomic.Bool
		rec := newRecorder(func(m *listener.Message, _ int) (listener.Result, error) {
			switch m.EventType {
			case "requeue.result":
				if m.Attempts == 1 {
					return listener.Requeue, nil
				}
			case "requeue.error":
				if m.Attempts == 1 {
					return listener.Handled, errors.New("transient failure")
				}
			case "requeue.panic":
				if !failed.Swap(true) {
					panic("handler crash")
				}
			}
			return listener.Handled, nil
		})
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"warn"},
			AllowRequeue: true, Handler: rec})
		for _, e := range []string{"requeue.result", "requeue.error", "requeue.panic"} {
			pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "warn", EventType: e, Payload: e})
		}
		got := rec.wait(t, 6, 30*time.Second)
		stop()
		per := map[string][]*listener.Message{}
		for _, m := range got {
			per[m.EventType] = append(per[m.EventType], m)
		}
		for e, ms := range per {
			if len(ms) != 2 {
				t.Errorf("%s handled %d times, want 2", e, len(ms))
				continue
			}
			if ms[0].Metadata.MessageID != ms[1].Metadata.MessageID || !ms[1].Redelivered || ms[1].Attempts != 2 || ms[0].Redelivered {
				t.Errorf("%s: %s then %s", e, describeMessage(ms[0]), describeMessage(ms[1]))
			}
		}
		if len(got) != 6 {
			t.Errorf("%d calls, want 6", len(got))
		}
		if st, _ := inspectQueue(t, conn, topic+".warn"); st.Messages != 0 {
			t.Errorf("queue not empty: %+v", st)
		}
	})

	t.Run("requeue not allowed drops", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		rec := newRecorder(func(*listener.Message, int) (listener.Result, error) { return listener.Requeue, nil })
		log, logs := captureLogger(t)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"info"},
			Handler: rec, Logger: log})
		pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "info", EventType: "norequeue"})
		rec.wait(t, 1, 30*time.Second)
		waitQueueEmpty(t, conn, topic+".info", 10*time.Second)
		stop()
		if n := len(rec.calls()); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
		if !strings.Contains(logs.String(), "requeue is not allowed") {
			t.Errorf("drop not logged:\n%s", logs)
		}
	})

	t.Run("poison message dropped after MaxRequeues", func(t *testing.T) {
		t.Parallel()
		topic := newTopic(t)
		const maxRequeues = 3
		rec := newRecorder(func(m *listener.Message, _ int) (listener.Result, error) {
			if m.EventType == "poison" {
				return listener.Requeue, nil
			}
			return listener.Handled, nil
		})
		log, logs := captureLogger(t)
		_, stop := startGoListener(t, listener.Config{Exchange: exchange, Targets: target(topic), Priorities: []string{"error"},
			AllowRequeue: true, MaxRequeues: maxRequeues, Handler: rec, Logger: log, Executor: executors.NewBlocking()})
		pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "error", EventType: "poison", Payload: "bad"})
		// A later healthy notification still gets through, after the poison
		// one was dropped (blocking executor: in order of delivery).
		pyNotify(t, pyc, pypeer.Command{Topics: []string{topic}, Priority: "error", EventType: "healthy"})
		rec.wait(t, maxRequeues+2, 30*time.Second)
		waitQueueEmpty(t, conn, topic+".error", 10*time.Second)
		stop()
		var poison []*listener.Message
		healthy := 0
		for _, m := range rec.calls() {
			switch m.EventType {
			case "poison":
				poison = append(poison, m)
			case "healthy":
				healthy++
			}
		}
		if len(poison) != maxRequeues+1 || healthy != 1 {
			t.Fatalf("poison handled %d times (want %d), healthy %d times", len(poison), maxRequeues+1, healthy)
		}
		for i, m := range poison {
			if m.Attempts != i+1 {
				t.Errorf("delivery %d: %s", i+1, describeMessage(m))
			}
		}
		out := logs.String()
		if !strings.Contains(out, "[ERROR]") || !strings.Contains(out, "dropping poison notification") ||
			!strings.Contains(out, "event_type=poison") || !strings.Contains(out, "message_id="+poison[0].Metadata.MessageID) {
			t.Errorf("poison drop not logged at ERROR with event_type and message_id:\n%s", out)
		}
	})
}

// withTag makes each screened-out notification distinguishable in logs.
func withTag(payload any, tag string) any {
	if m, ok := payload.(map[string]any); ok {
		cp := map[string]any{"tag": tag}
		for k, v := range m {
			cp[k] = v
		}
		return cp
	}
	return payload
}

// TestGoNotifierToPythonListenerRequeue: the Python listener's requeue
// works on what the Go notifier sent (the message comes back once).
func TestGoNotifierToPythonListenerRequeue(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "notifx")
	topic := pypeer.UniqueName(t, "pyrequeue")
	pool := pypeer.UniqueName(t, "pypool")
	deleteQueues(t, pool, topic+".info")
	py := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Exchange: exchange, Topics: []string{topic},
		Pool: pool, AllowRequeue: true, RequeueFirst: true})
	tr := dialClient(t, exchange)
	n, err := client.NewNotifier(tr, "go.requeue", client.Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Info(bg(t, 30*time.Second), map[string]any{"request_id": "r1"}, "requeue.me", map[string]any{"x": 1}); err != nil {
		t.Fatal(err)
	}
	got, err := py.Notifications(bg(t, 30*time.Second), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Result != "requeue" || got[1].Result != "handled" || got[0].Metadata.MessageID != got[1].Metadata.MessageID {
		t.Errorf("got %+v", got)
	}
}

// TestNotifierErrors: what the Go notifier refuses, and that it reports
// failures instead of dropping them (Python logs and drops).
func TestNotifierErrors(t *testing.T) {
	tr := dialClient(t, pypeer.UniqueName(t, "notifx"))
	if _, err := client.NewNotifier(tr, "p", client.Driver("log")); !errors.Is(err, client.ErrUnknownDriver) {
		t.Errorf("driver log: %v", err)
	}
	if _, err := client.NewNotifier(tr, "p", client.Topics("")); err == nil {
		t.Error("empty topic accepted")
	}
	n, err := client.NewNotifier(tr, "p", client.Topics(pypeer.UniqueName(t, "errs")))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(bg(t, 10*time.Second), nil, "warning", "e", nil); !errors.Is(err, client.ErrInvalidPriority) {
		t.Errorf("priority warning: %v", err)
	}
	if err := n.Info(bg(t, 10*time.Second), nil, "e", func() {}); err == nil || !strings.Contains(err.Error(), "payload") {
		t.Errorf("unmarshalable payload: %v", err)
	}
	noop, err := n.Prepare("", client.Driver(client.DriverNoop))
	if err != nil {
		t.Fatal(err)
	}
	if err := noop.Info(bg(t, 10*time.Second), nil, "e", nil); err != nil {
		t.Errorf("noop: %v", err)
	}
	tr.Close()
	if err := n.Info(bg(t, 10*time.Second), nil, "e", nil); !errors.Is(err, client.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// TestQuorumDeliveryCount: on quorum queues the requeue count comes from
// the broker's x-delivery-count header, so it survives a listener restart
// (a fresh listener has no in-memory count).
func TestQuorumDeliveryCount(t *testing.T) {
	pypeer.Python(t)
	exchange := pypeer.UniqueName(t, "quorumx")
	topic := pypeer.UniqueName(t, "quorum")
	sep := "?"
	if strings.Contains(pypeer.URL(), "?") {
		sep = "&"
	}
	quorumURL := pypeer.URL() + sep + "rabbit_quorum_queue=true"
	_, err := rabbit.ParseURL(quorumURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := client.Dial(ctx, client.Config{URL: quorumURL, ControlExchange: exchange, Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	deleteQueues(t, priorityQueues(topic)...)
	t.Cleanup(func() {
		conn, err := dialNoCleanup(t)
		if err != nil {
			return
		}
		defer conn.Close()
		if ch, _, err := conn.Channel(context.Background()); err == nil {
			_ = ch.ExchangeDelete(exchange, false, false)
			_ = ch.Close()
		}
	})
	n, err := client.NewNotifier(tr, "q.host", client.Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Info(ctx, nil, "quorum.poison", "x"); err != nil {
		t.Fatal(err)
	}
	cfg := func(rec *recorder, log hclog.Logger) listener.Config {
		return listener.Config{Exchange: exchange, Targets: []listener.Target{{Topic: topic}},
			Priorities: []string{"info"}, AllowRequeue: true, MaxRequeues: 2, Handler: rec, Logger: log,
			Executor: executors.NewBlocking()}
	}
	requeue := func(*listener.Message, int) (listener.Result, error) { return listener.Requeue, nil }
	// First listener: sees the message once and requeues it, then stops
	// (only one delivery: it holds the message while handling).
	gate := make(chan struct{})
	first := newRecorder(func(m *listener.Message, _ int) (listener.Result, error) {
		<-gate
		return listener.Requeue, nil
	})
	_, stop1 := startGoListenerURL(t, quorumURL, cfg(first, nil))
	first.wait(t, 1, 30*time.Second)
	go func() { time.Sleep(100 * time.Millisecond); close(gate) }()
	stop1()
	if got := first.calls(); len(got) < 1 || got[0].Attempts != 1 {
		t.Fatalf("first listener: %d calls", len(got))
	}
	// Second listener, fresh memory: its first delivery counts the earlier
	// ones thanks to x-delivery-count (the first listener's handling, and
	// possibly a redelivery it gave back unhandled while stopping), and it
	// drops the message by attempt 3 (MaxRequeues 2).
	log, logs := captureLogger(t)
	second := newRecorder(requeue)
	_, stop2 := startGoListenerURL(t, quorumURL, cfg(second, log))
	got := second.wait(t, 1, 30*time.Second)
	conn, _ := dial(t, pypeer.URL(), "inspect")
	waitQueueEmpty(t, conn, topic+".info", 10*time.Second)
	stop2()
	if got[0].Attempts < 2 {
		t.Errorf("fresh listener saw attempt %d, want >= 2 (x-delivery-count)", got[0].Attempts)
	}
	// The attempt counts deliveries, and a delivery the first listener gave
	// back unhandled while stopping counts too: the last one handled is
	// attempt 3 or, when it gave back more than one, later; the handler is
	// never called more than 3 times in all.
	calls := second.calls()
	if last := calls[len(calls)-1]; last.Attempts < 3 || len(first.calls())+len(calls) > 3 {
		t.Errorf("handled %d+%d times, last attempt %d; want at most 3 in all, the last at attempt 3 or later",
			len(first.calls()), len(calls), last.Attempts)
	}
	if !strings.Contains(logs.String(), "dropping poison notification") {
		t.Errorf("no poison log:\n%s", logs)
	}
}
