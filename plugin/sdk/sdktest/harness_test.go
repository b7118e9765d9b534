package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/sdk"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type echo struct{}

func (echo) Echo(_ context.Context, a map[string]any) (any, error) { return a["v"], nil }

func (echo) Fail(context.Context) (any, error) { return nil, sdk.Expected(sdk.KeyError("k")) }

func TestHarness(t *testing.T) {
	h := New(t, sdk.Endpoint{Version: "1.1", Impl: echo{}})
	eps, err := h.Describe() // configures without config
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 1 || eps[0].Version != "1.1" || len(eps[0].Methods) != 2 {
		t.Fatalf("Describe = %+v", eps)
	}
	if err := h.Configure(json.RawMessage(`{}`)); err == nil {
		t.Error("Configure after Describe succeeded")
	}
	var got any
	if err := h.Call(context.Background(), "echo", map[string]any{"v": "x"}, &got); err != nil || got != "x" {
		t.Errorf("echo = %v, %v", got, err)
	}
	if err := h.Call(context.Background(), "echo", nil, nil); err != nil {
		t.Errorf("echo discarding result: %v", err)
	}
	err = h.Call(context.Background(), "fail", nil, nil)
	var re *sdk.RemoteError
	if !errors.As(err, &re) || re.Class != "KeyError" || re.Message != "'k'" || !sdk.IsExpected(err) {
		t.Errorf("fail = %v", err)
	}
}

func TestStartStop(t *testing.T) {
	h, err := Start(sdk.Static(sdk.Endpoint{Impl: echo{}}), PluginName("x"), WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Configure([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	if err := h.Call(context.Background(), "echo", nil, nil); err == nil {
		t.Error("Call after Stop succeeded")
	}
}

// seen records the one notification it was given.
type seen struct{ n chan sdk.Notification }

func (s seen) Notify(_ context.Context, n sdk.Notification) error { s.n <- n; return nil }

func TestNotifyFillsDefaults(t *testing.T) {
	s := seen{n: make(chan sdk.Notification, 1)}
	h := NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "s", Impl: s}))
	before := time.Now().UTC().Add(-time.Second)
	res, err := h.Notify(context.Background(), "s", sdk.Notification{Priority: "WARN"})
	if err != nil || len(res) != 1 || res[0] != sdk.Handled {
		t.Fatalf("Notify = %v, %v", res, err)
	}
	n := <-s.n
	if n.Priority != "warn" || string(n.Payload) != "null" || n.Context == nil || n.Attempts != 1 || n.Redelivered {
		t.Errorf("notification = %+v", n)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(n.MessageID) {
		t.Errorf("message id %q is not a uuid4", n.MessageID)
	}
	ts, err := time.Parse("2006-01-02 15:04:05.999999", n.Timestamp)
	if err != nil || ts.Before(before) {
		t.Errorf("timestamp %q: %v", n.Timestamp, err)
	}
	if _, err := h.Notify(context.Background(), "s", sdk.Notification{Payload: []byte("{")}); err == nil {
		t.Error("Notify with a payload that is not JSON succeeded")
	}
}

func TestOsloTimestamp(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 678901000, time.UTC), "2024-01-02 03:04:05.678901"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02 03:04:05"},
		{time.Date(2024, 1, 2, 3, 4, 5, 999, time.UTC), "2024-01-02 03:04:05"}, // below a microsecond
		{time.Date(2024, 1, 2, 4, 4, 5, 10000, time.FixedZone("CET", 3600)), "2024-01-02 03:04:05.000010"},
	}
	for _, tt := range tests {
		if got := OsloTimestamp(tt.t); got != tt.want {
			t.Errorf("OsloTimestamp(%v) = %q, want %q", tt.t, got, tt.want)
		}
	}
}

// TestCallSendsFloatsAsPython: a float64 argument arrives as a Python float
// would (1.0, not 1), so an untyped parameter sends it back as a float.
func TestCallSendsFloatsAsPython(t *testing.T) {
	h := New(t, sdk.Endpoint{Impl: echo{}})
	for _, tt := range []struct {
		v    any
		want string
	}{{1.0, "1.0"}, {1, "1"}, {1e16, "1e+16"}} {
		var got json.RawMessage
		if err := h.Call(context.Background(), "echo", map[string]any{"v": tt.v}, &got); err != nil || string(got) != tt.want {
			t.Errorf("echo(v=%v) = %s, %v; want %s", tt.v, got, err, tt.want)
		}
	}
}
