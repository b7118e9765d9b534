package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var admin = []sdktest.CallOption{sdktest.Namespace(Namespace), sdktest.Version(Version)}

func start(t *testing.T) *sdktest.Harness {
	t.Helper()
	return sdktest.NewPlugin(t, sdk.StaticAll(servables()...))
}

func notify(t *testing.T, h *sdktest.Harness, ns ...sdk.Notification) []sdk.NotificationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.Notify(ctx, Handler, ns...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func list(t *testing.T, h *sdktest.Harness, eventType string) []Record {
	t.Helper()
	var args any
	if eventType != "" {
		args = map[string]string{"event_type": eventType}
	}
	var recs []Record
	if err := h.Call(context.Background(), "list", args, &recs, admin...); err != nil {
		t.Fatal(err)
	}
	return recs
}

func count(t *testing.T, h *sdktest.Harness) int {
	t.Helper()
	var n int
	if err := h.Call(context.Background(), "count", nil, &n, admin...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDescribe(t *testing.T) {
	h := start(t)
	eps, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	want := []sdktest.EndpointInfo{{Namespace: "audit", Version: "1.0", Methods: []string{"clear", "count", "list"}}}
	if !reflect.DeepEqual(eps, want) {
		t.Errorf("endpoints = %+v, want %+v", eps, want)
	}
	hs, err := h.NotificationHandlers()
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].Name != "audit" || hs[0].Batch || !slices.Equal(hs[0].Priorities, sdk.Priorities) {
		t.Errorf("handlers = %+v, want audit of every priority", hs)
	}
}

func TestRecordsEveryPriority(t *testing.T) {
	h := start(t)
	var ns []sdk.Notification
	for i, p := range sdk.Priorities {
		ns = append(ns, sdk.Notification{
			Priority: p, PublisherID: "compute.host1", EventType: "compute.instance." + p,
			Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), Context: map[string]any{"request_id": "req-1"},
			MessageID: fmt.Sprintf("m-%d", i), Timestamp: "2024-01-02 03:04:05.678901",
		})
	}
	res := notify(t, h, ns...)
	if !slices.Equal(res, slices.Repeat([]sdk.NotificationResult{sdk.Handled}, len(ns))) {
		t.Errorf("results = %v, want all handled", res)
	}
	recs := list(t, h, "")
	if len(recs) != len(sdk.Priorities) || count(t, h) != len(sdk.Priorities) {
		t.Fatalf("list = %+v, want %d records", recs, len(sdk.Priorities))
	}
	for i, r := range recs {
		p := sdk.Priorities[i]
		want := Record{
			Seq: i + 1, Priority: p, PublisherID: "compute.host1", EventType: "compute.instance." + p,
			Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)), Context: map[string]any{"request_id": "req-1"},
			MessageID: fmt.Sprintf("m-%d", i), Timestamp: "2024-01-02 03:04:05.678901", Attempts: 1, Result: "handled",
		}
		if !reflect.DeepEqual(r, want) {
			t.Errorf("record %d = %+v\nwant %+v", i, r, want)
		}
	}
	if got := list(t, h, "compute.instance.warn"); len(got) != 1 || got[0].Priority != "warn" {
		t.Errorf("list(event_type=compute.instance.warn) = %+v", got)
	}
	if got := list(t, h, "nothing.like.it"); len(got) != 0 {
		t.Errorf("list(event_type=nothing.like.it) = %+v, want []", got)
	}
}

func TestRequeueOnce(t *testing.T) {
	h := start(t)
	ask := sdk.Notification{EventType: "demo.retry", Payload: json.RawMessage(`{"requeue":true}`), MessageID: "m-1"}
	if res := notify(t, h, ask); res[0] != sdk.Requeue {
		t.Errorf("first delivery = %v, want requeue", res[0])
	}
	again := ask
	again.Redelivered, again.Attempts = true, 2
	if res := notify(t, h, again); res[0] != sdk.Handled {
		t.Errorf("redelivery = %v, want handled", res[0])
	}
	// A different message asking for it is requeued once too; payloads that
	// are not objects, or say false, are handled.
	res := notify(t, h,
		sdk.Notification{Payload: json.RawMessage(`{"requeue":true}`), MessageID: "m-2"},
		sdk.Notification{Payload: json.RawMessage(`{"requeue":false}`), MessageID: "m-3"},
		sdk.Notification{Payload: json.RawMessage(`"requeue"`), MessageID: "m-4"},
		sdk.Notification{Payload: json.RawMessage(`{"requeue":"yes"}`), MessageID: "m-5"},
	)
	if want := []sdk.NotificationResult{sdk.Requeue, sdk.Handled, sdk.Handled, sdk.Handled}; !slices.Equal(res, want) {
		t.Errorf("results = %v, want %v", res, want)
	}
	recs := list(t, h, "demo.retry")
	if len(recs) != 2 || recs[0].Result != "requeue" || recs[1].Result != "handled" || !recs[1].Redelivered || recs[1].Attempts != 2 {
		t.Errorf("demo.retry records = %+v, want a requeue then a handled redelivery", recs)
	}

	// clear forgets the requeue too.
	var n int
	if err := h.Call(context.Background(), "clear", nil, &n, admin...); err != nil || n != 6 {
		t.Errorf("clear = %d, %v; want 6", n, err)
	}
	if c := count(t, h); c != 0 || len(list(t, h, "")) != 0 {
		t.Errorf("after clear: count %d", c)
	}
	if res := notify(t, h, ask); res[0] != sdk.Requeue {
		t.Errorf("first delivery after clear = %v, want requeue", res[0])
	}
}

func TestRingKeepsTheLast(t *testing.T) {
	h := start(t)
	if err := h.Configure(map[string]int{"capacity": 3}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		notify(t, h, sdk.Notification{MessageID: fmt.Sprint(i)})
	}
	var ids []string
	for _, r := range list(t, h, "") {
		ids = append(ids, fmt.Sprintf("%d:%s", r.Seq, r.MessageID))
	}
	if want := []string{"3:2", "4:3", "5:4"}; !slices.Equal(ids, want) {
		t.Errorf("kept %v, want %v", ids, want)
	}
	if c := count(t, h); c != 5 {
		t.Errorf("count = %d, want 5 (all received)", c)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []string{`{"capacity":0}`, `{"capacity":-1}`, `{"cap":1}`} {
		t.Run(cfg, func(t *testing.T) {
			if err := start(t).Configure(json.RawMessage(cfg)); err == nil {
				t.Errorf("Configure(%s) succeeded", cfg)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	h := start(t)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := h.Notify(ctx, Handler, sdk.Notification{Priority: "audit", MessageID: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if err := h.Call(context.Background(), "list", nil, nil, admin...); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c := count(t, h); c != n {
		t.Errorf("count = %d, want %d", c, n)
	}
}

func TestIDSetBounded(t *testing.T) {
	s := newIDSet(2)
	for _, step := range []struct {
		id   string
		want bool
	}{{"a", true}, {"a", false}, {"b", true}, {"c", true}, {"a", true}, {"c", false}} {
		if got := s.add(step.id); got != step.want {
			t.Errorf("add(%s) = %v, want %v", step.id, got, step.want)
		}
	}
}
