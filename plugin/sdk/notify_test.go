package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recorder is a handler with a method per priority for info, warn (spelt
// WARN) and error, in the shapes a handler may use.
type recorder struct {
	mu   sync.Mutex
	seen []sdk.Notification
	how  []string
}

func (r *recorder) add(how string, ns ...sdk.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, ns...)
	for range ns {
		r.how = append(r.how, how)
	}
}

func (r *recorder) Info(_ context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	r.add("Info", n)
	var p struct {
		Requeue bool `json:"requeue"`
		Fail    string
		Panic   string
	}
	if err := n.DecodePayload(&p); err != nil {
		return sdk.Handled, err
	}
	switch {
	case p.Fail != "":
		return sdk.Handled, errors.New(p.Fail) // the error wins: requeue
	case p.Panic != "":
		panic(p.Panic)
	case p.Requeue:
		return sdk.Requeue, nil
	}
	return sdk.Handled, nil
}

// WARN matches the priority case-insensitively; returning only an error is
// allowed.
func (r *recorder) WARN(_ context.Context, n sdk.Notification) error {
	r.add("WARN", n)
	return nil
}

func (r *recorder) Error(_ context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	r.add("Error", n)
	return sdk.Handled, nil
}

// Not handler methods: no notification, or no context first.
func (r *recorder) Count(context.Context) (int, error) { return len(r.seen), nil }
func (r *recorder) String() string                     { return "recorder" }

func notify(t *testing.T, h *sdktest.Harness, handler string, ns ...sdk.Notification) []sdk.NotificationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := h.Notify(ctx, handler, ns...)
	if err != nil {
		t.Fatalf("Notify(%s): %v", handler, err)
	}
	return res
}

func TestNotificationPriorityMethods(t *testing.T) {
	r := &recorder{}
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "rec", Impl: r}))
	hs, err := h.NotificationHandlers()
	if err != nil {
		t.Fatal(err)
	}
	want := []sdktest.NotificationHandlerInfo{{Name: "rec", Priorities: []string{"info", "warn", "error"}}}
	if !reflect.DeepEqual(hs, want) {
		t.Errorf("handlers = %+v, want %+v", hs, want)
	}
	if eps, err := h.Describe(); err != nil || len(eps) != 0 {
		t.Errorf("Describe = %+v, %v; want no endpoints", eps, err)
	}

	tests := []struct {
		priority, payload string
		want              sdk.NotificationResult
		how               string
	}{
		{"info", `{"id":1}`, sdk.Handled, "Info"},
		{"INFO", `{"requeue":true}`, sdk.Requeue, "Info"},
		{"info", `{"fail":"no database"}`, sdk.Requeue, "Info"},
		{"info", `{"panic":"boom"}`, sdk.Requeue, "Info"},
		{"info", `["not","an","object"]`, sdk.Requeue, "Info"}, // DecodePayload error
		{"warn", `"text"`, sdk.Handled, "WARN"},
		{"error", `null`, sdk.Handled, "Error"},
	}
	for _, tt := range tests {
		t.Run(tt.priority+" "+tt.payload, func(t *testing.T) {
			before := len(r.how)
			res := notify(t, h, "rec", sdk.Notification{Priority: tt.priority, EventType: "e", Payload: json.RawMessage(tt.payload)})
			if len(res) != 1 || res[0] != tt.want {
				t.Errorf("results = %v, want [%v]", res, tt.want)
			}
			if len(r.how) != before+1 || r.how[before] != tt.how {
				t.Errorf("handled by %v, want %s", r.how[before:], tt.how)
			}
		})
	}

	// A host only delivers declared priorities: sdktest refuses the others.
	if _, err := h.Notify(context.Background(), "rec", sdk.Notification{Priority: "audit"}); err == nil ||
		!strings.Contains(err.Error(), `does not handle priority "audit"`) {
		t.Errorf("Notify(audit) = %v, want an error", err)
	}
	if _, err := h.Notify(context.Background(), "nope", sdk.Notification{}); err == nil {
		t.Error("Notify to an unknown handler succeeded")
	}
}

// TestNotificationFieldsAndErrors looks at the wire: field conversion, the
// error texts of requeued notifications, an undeclared priority, an unknown
// handler.
func TestNotificationFieldsAndErrors(t *testing.T) {
	r := &recorder{}
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "rec", Impl: r}))
	if _, err := h.NotificationHandlers(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := &pluginv1.NotifyRequest{Handler: "rec", Notifications: []*pluginv1.Notification{
		{
			Priority: "INFO", PublisherId: "compute.host1", EventType: "compute.instance.create.end",
			PayloadJson: []byte(`{"id":1}`), ContextJson: []byte(`{"user_id":"u","big":12345678901234567890}`),
			MessageId: "6b1e3b57-0d0a-4d3c-9d4e-1b6f0c7f6d2a", Timestamp: "2024-01-02 03:04:05.678901",
			Redelivered: true, Attempts: 3,
		},
		{Priority: "info", PayloadJson: []byte(`{"fail":"no database"}`)},
		{Priority: "info", PayloadJson: []byte(`{"panic":"boom"}`)},
		{Priority: "audit"},
		{Priority: "warn"}, // no payload, no context
	}}
	resp, err := h.Client().Notify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, res := range resp.GetResults() {
		got = append(got, res.GetOutcome().String()+": "+res.GetError())
	}
	want := []string{
		"HANDLED: ",
		"REQUEUE: no database",
		"REQUEUE: plugin panic: boom",
		`HANDLED: handler "rec" does not handle priority "audit": ignored`,
		"HANDLED: ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results =\n%q\nwant\n%q", got, want)
	}
	first := r.seen[0]
	wantFirst := sdk.Notification{
		Priority: "info", PublisherID: "compute.host1", EventType: "compute.instance.create.end",
		Payload: json.RawMessage(`{"id":1}`), Context: map[string]any{"user_id": "u", "big": json.Number("12345678901234567890")},
		MessageID: "6b1e3b57-0d0a-4d3c-9d4e-1b6f0c7f6d2a", Timestamp: "2024-01-02 03:04:05.678901",
		Redelivered: true, Attempts: 3,
	}
	if !reflect.DeepEqual(first, wantFirst) {
		t.Errorf("handler got %+v\nwant %+v", first, wantFirst)
	}
	if last := r.seen[len(r.seen)-1]; string(last.Payload) != "null" || last.Context == nil || len(last.Context) != 0 {
		t.Errorf("empty notification arrived as %+v, want payload null and an empty context", last)
	}

	if _, err := h.Client().Notify(ctx, &pluginv1.NotifyRequest{Handler: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown handler = %v, want NotFound", err)
	}
	bad := &pluginv1.NotifyRequest{Handler: "rec", Notifications: []*pluginv1.Notification{{Priority: "info", ContextJson: []byte(`[1]`)}}}
	if _, err := h.Client().Notify(ctx, bad); status.Code(err) != codes.InvalidArgument {
		t.Errorf("context not an object = %v, want InvalidArgument", err)
	}
}

// catchAll handles error itself and every other priority in Notify.
type catchAll struct{ got sync.Map }

func (c *catchAll) Notify(_ context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	c.got.Store(n.Priority, "Notify")
	return sdk.Handled, nil
}

func (c *catchAll) Error(_ context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	c.got.Store(n.Priority, "Error")
	return sdk.Requeue, nil
}

func TestNotificationCatchAll(t *testing.T) {
	c := &catchAll{}
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "all", Impl: c}))
	hs, err := h.NotificationHandlers()
	if err != nil || len(hs) != 1 || !slices.Equal(hs[0].Priorities, sdk.Priorities) || hs[0].Batch {
		t.Fatalf("handlers = %+v, %v; want every priority", hs, err)
	}
	var ns []sdk.Notification
	for _, p := range sdk.Priorities {
		ns = append(ns, sdk.Notification{Priority: p})
	}
	res := notify(t, h, "all", ns...)
	for i, p := range sdk.Priorities {
		want, wantRes := "Notify", sdk.Handled
		if p == "error" {
			want, wantRes = "Error", sdk.Requeue
		}
		if got, _ := c.got.Load(p); got != want || res[i] != wantRes {
			t.Errorf("%s: handled by %v with %v, want %s with %v", p, got, res[i], want, wantRes)
		}
	}
}

// batcher handles info in batches and every other priority in NotifyBatch.
type batcher struct {
	mu      sync.Mutex
	batches []string // "<method>:<message ids>"
}

func (b *batcher) record(method string, ns []sdk.Notification) {
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.MessageID
	}
	b.mu.Lock()
	b.batches = append(b.batches, method+":"+strings.Join(ids, ","))
	b.mu.Unlock()
}

// InfoBatch requeues notifications whose message id starts with "r", fails
// a batch containing "fail", panics on one containing "panic", and returns
// too few results for one containing "short".
func (b *batcher) InfoBatch(_ context.Context, ns []sdk.Notification) ([]sdk.NotificationResult, error) {
	b.record("InfoBatch", ns)
	res := make([]sdk.NotificationResult, len(ns))
	for i, n := range ns {
		switch {
		case n.MessageID == "fail":
			return nil, errors.New("batch failed")
		case n.MessageID == "panic":
			panic("batch panic")
		case n.MessageID == "short":
			return res[:i], nil
		case strings.HasPrefix(n.MessageID, "r"):
			res[i] = sdk.Requeue
		}
	}
	return res, nil
}

func (b *batcher) NotifyBatch(_ context.Context, ns []sdk.Notification) error {
	b.record("NotifyBatch", ns)
	return nil
}

func TestNotificationBatch(t *testing.T) {
	b := &batcher{}
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "batch", Impl: b}))
	hs, err := h.NotificationHandlers()
	if err != nil || len(hs) != 1 || !hs[0].Batch || !slices.Equal(hs[0].Priorities, sdk.Priorities) {
		t.Fatalf("handlers = %+v, %v; want a batch handler of every priority", hs, err)
	}
	tests := []struct {
		name    string
		ids     []string // "<priority>/<message id>"
		want    []sdk.NotificationResult
		batches []string
	}{
		{
			"grouped by priority, results in order",
			[]string{"info/a", "warn/b", "info/r1", "audit/c", "info/d"},
			[]sdk.NotificationResult{sdk.Handled, sdk.Handled, sdk.Requeue, sdk.Handled, sdk.Handled},
			[]string{"InfoBatch:a,r1,d", "NotifyBatch:b", "NotifyBatch:c"},
		},
		{
			"error requeues the batch",
			[]string{"info/a", "warn/b", "info/fail"},
			[]sdk.NotificationResult{sdk.Requeue, sdk.Handled, sdk.Requeue},
			[]string{"InfoBatch:a,fail", "NotifyBatch:b"},
		},
		{
			"panic requeues the batch",
			[]string{"info/panic", "info/a"},
			[]sdk.NotificationResult{sdk.Requeue, sdk.Requeue},
			[]string{"InfoBatch:panic,a"},
		},
		{
			"too few results requeue the batch",
			[]string{"info/a", "info/short"},
			[]sdk.NotificationResult{sdk.Requeue, sdk.Requeue},
			[]string{"InfoBatch:a,short"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.mu.Lock()
			b.batches = nil
			b.mu.Unlock()
			var ns []sdk.Notification
			for _, id := range tt.ids {
				p, mid, _ := strings.Cut(id, "/")
				ns = append(ns, sdk.Notification{Priority: p, MessageID: mid})
			}
			res := notify(t, h, "batch", ns...)
			if !slices.Equal(res, tt.want) {
				t.Errorf("results = %v, want %v", res, tt.want)
			}
			if !slices.Equal(b.batches, tt.batches) {
				t.Errorf("batches = %q, want %q", b.batches, tt.batches)
			}
		})
	}
}

// nilBatch returns nil results: all handled.
type nilBatch struct{}

func (nilBatch) ErrorBatch(context.Context, []sdk.Notification) ([]sdk.NotificationResult, error) {
	return nil, nil
}

func TestNotificationBatchNilResults(t *testing.T) {
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "n", Impl: nilBatch{}}))
	res := notify(t, h, "n", sdk.Notification{Priority: "error"}, sdk.Notification{Priority: "error"})
	if !slices.Equal(res, []sdk.NotificationResult{sdk.Handled, sdk.Handled}) {
		t.Errorf("results = %v", res)
	}
}

// Both an RPC endpoint and a notification handler, with hooks.
type both struct {
	configured, closed atomic.Int32
	infos              atomic.Int32
}

func (b *both) Configure(context.Context, sdk.Config) error { b.configured.Add(1); return nil }
func (b *both) Close(context.Context) error                 { b.closed.Add(1); return nil }

func (b *both) Count(context.Context) (int, error) { return int(b.infos.Load()), nil }

func (b *both) Info(context.Context, sdk.Notification) error { b.infos.Add(1); return nil }

func TestEndpointAndHandlerShareImpl(t *testing.T) {
	b := &both{}
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Endpoint{Impl: b}, sdk.Notifications{Name: "b", Impl: b}))
	eps, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || !slices.Equal(eps[0].Methods, []string{"count"}) {
		t.Errorf("endpoints = %+v, want only count (Info is a handler method)", eps)
	}
	notify(t, h, "b", sdk.Notification{}, sdk.Notification{})
	var n int
	if err := h.Call(context.Background(), "count", nil, &n); err != nil || n != 2 {
		t.Errorf("count = %d, %v; want 2", n, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if b.configured.Load() != 1 || b.closed.Load() != 1 {
		t.Errorf("hooks ran %d and %d times, want once each", b.configured.Load(), b.closed.Load())
	}
}

func TestNotificationDeadlineAndLogger(t *testing.T) {
	var gotDeadline time.Time
	var gotLogger bool
	impl := notifyFunc(func(ctx context.Context, n sdk.Notification) error {
		gotDeadline, _ = ctx.Deadline()
		gotLogger = sdk.Logger(ctx) != sdk.Log()
		return nil
	})
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "f", Impl: impl}))
	deadline := time.Now().Add(time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := h.Notify(ctx, "f", sdk.Notification{Priority: "sample"}); err != nil {
		t.Fatal(err)
	}
	if gotDeadline.IsZero() || gotDeadline.After(deadline) {
		t.Errorf("handler deadline %v, want at most %v", gotDeadline, deadline)
	}
	if !gotLogger {
		t.Error("sdk.Logger(ctx) in a handler is the root logger, want one tagged with the notification")
	}
}

// notifyFunc is a catch-all handler made of a function.
type notifyFunc func(ctx context.Context, n sdk.Notification) error

func (f notifyFunc) Notify(ctx context.Context, n sdk.Notification) error { return f(ctx, n) }

func TestDecodePayload(t *testing.T) {
	var v struct {
		ID  int `json:"id"`
		Any any `json:"any"`
	}
	v.ID = 7
	if err := (sdk.Notification{Payload: json.RawMessage("null")}).DecodePayload(&v); err != nil || v.ID != 7 {
		t.Errorf("null payload: %v, %+v", err, v)
	}
	if err := (sdk.Notification{}).DecodePayload(&v); err != nil || v.ID != 7 {
		t.Errorf("absent payload: %v, %+v", err, v)
	}
	n := sdk.Notification{EventType: "x.y", Payload: json.RawMessage(`{"id":1,"any":12345678901234567890,"extra":true}`)}
	if err := n.DecodePayload(&v); err != nil || v.ID != 1 || v.Any != json.Number("12345678901234567890") {
		t.Errorf("payload: %v, %+v", err, v)
	}
	if err := (sdk.Notification{EventType: "x.y", Payload: json.RawMessage(`"s"`)}).DecodePayload(&v); err == nil ||
		!strings.Contains(err.Error(), "x.y") {
		t.Errorf("mismatched payload = %v, want an error naming the event type", err)
	}
}

func TestNotificationResultString(t *testing.T) {
	if sdk.Handled.String() != "handled" || sdk.Requeue.String() != "requeue" || sdk.NotificationResult(9).String() != "NotificationResult(9)" {
		t.Error("NotificationResult.String")
	}
}

type badShape struct{}

func (badShape) Info(context.Context, sdk.Notification) string { return "" }

type badBatchShape struct{}

func (badBatchShape) InfoBatch(context.Context, sdk.Notification) error { return nil }

type misnamed struct{}

func (misnamed) OnCreate(context.Context, sdk.Notification) error { return nil }

type mixed struct{}

func (mixed) Info(context.Context, sdk.Notification) error         { return nil }
func (mixed) ErrorBatch(context.Context, []sdk.Notification) error { return nil }

type noHandlers struct{}

func (noHandlers) Count(context.Context) (int, error) { return 0, nil }

type pointerHandler struct{}

func (*pointerHandler) Info(context.Context, sdk.Notification) error { return nil }

type badResult struct{}

func (badResult) Info(context.Context, sdk.Notification) (sdk.NotificationResult, error) {
	return sdk.NotificationResult(5), nil
}

func TestInvalidNotificationHandlers(t *testing.T) {
	tests := []struct {
		name  string
		items []sdk.Servable
		want  string
	}{
		{"nil impl", []sdk.Servable{sdk.Notifications{Name: "x"}}, "Impl is nil"},
		{"no name", []sdk.Servable{sdk.Notifications{Impl: &recorder{}}}, "name must be"},
		{"bad name", []sdk.Servable{sdk.Notifications{Name: "a b", Impl: &recorder{}}}, "name must be"},
		{"bad shape", []sdk.Servable{sdk.Notifications{Name: "x", Impl: badShape{}}}, "method badShape.Info: want func(context.Context, sdk.Notification)"},
		{"bad batch shape", []sdk.Servable{sdk.Notifications{Name: "x", Impl: badBatchShape{}}}, "want func(context.Context, []sdk.Notification)"},
		{"misnamed", []sdk.Servable{sdk.Notifications{Name: "x", Impl: misnamed{}}}, "OnCreate: takes notifications but is not named after a priority"},
		{"mixed", []sdk.Servable{sdk.Notifications{Name: "x", Impl: mixed{}}}, "mixes batch methods (ErrorBatch) with single ones (Info)"},
		{"no handler methods", []sdk.Servable{sdk.Notifications{Name: "x", Impl: noHandlers{}}}, "noHandlers has no methods named after a priority"},
		{"value with pointer methods", []sdk.Servable{sdk.Notifications{Name: "x", Impl: pointerHandler{}}}, "need Impl to be a pointer"},
		{"duplicate name", []sdk.Servable{sdk.Notifications{Name: "x", Impl: &recorder{}}, sdk.Notifications{Name: "x", Impl: &catchAll{}}}, `"x": name used twice`},
		{"nothing", nil, "no endpoints and no notification handlers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sdktest.NewPlugin(t, sdk.StaticAll(tt.items...))
			err := h.Configure(nil)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Configure() = %v, want InvalidArgument containing %q", err, tt.want)
			}
		})
	}

	// A handler method returning an invalid result requeues.
	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "x", Impl: badResult{}}))
	if res := notify(t, h, "x", sdk.Notification{}); res[0] != sdk.Requeue {
		t.Errorf("invalid result = %v, want requeue", res)
	}
}

// dynamic is a NotificationPlugin deciding its handler's name from config.
type dynamic struct{ name string }

func (d *dynamic) Configure(_ context.Context, cfg sdk.Config) ([]sdk.Endpoint, error) {
	var c struct {
		Handler string `json:"handler"`
	}
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	d.name = c.Handler
	return nil, nil
}

func (d *dynamic) NotificationHandlers() []sdk.Notifications {
	return []sdk.Notifications{{Name: d.name, Impl: &recorder{}}}
}

func TestNotificationPlugin(t *testing.T) {
	h := sdktest.NewPlugin(t, &dynamic{})
	if err := h.Configure(map[string]string{"handler": "from-config"}); err != nil {
		t.Fatal(err)
	}
	if res := notify(t, h, "from-config", sdk.Notification{Priority: "error"}); res[0] != sdk.Handled {
		t.Errorf("results = %v", res)
	}
}
