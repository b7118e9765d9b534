package tracing

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/oslohost/oslohost/oslo"
)

// install turns the hooks on with a recorder instead of an exporter.
func install(t *testing.T, keys ...string) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	active.Store(&state{tracer: tp.Tracer(ScopeName), keys: keys, log: hclog.NewNullLogger()})
	t.Cleanup(func() { active.Store(nil) })
	return rec
}

func TestTraceInfoSpanContext(t *testing.T) {
	tests := []struct {
		name                string
		ti                  TraceInfo
		wantTrace, wantSpan string
		wantErr             bool
	}{
		{"uuid4s", TraceInfo{BaseID: "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d", ParentID: "aa0c8f5e-63f1-4c7b-8f40-0123456789ab"},
			"3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d", "8f400123456789ab", false},
		{"no parent: the base is the parent (profiler.init)", TraceInfo{BaseID: "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d"},
			"3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d", "9d2c7a9e3f1b2c4d", false},
		{"forms uuid.UUID accepts", TraceInfo{BaseID: "{3B4FFC2E1C5F4B8E9D2C7A9E3F1B2C4D}", ParentID: "urn:uuid:aa0c8f5e-63f1-4c7b-8f40-0123456789ab"},
			"3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d", "8f400123456789ab", false},
		{"base not a uuid", TraceInfo{BaseID: "nope", ParentID: "aa0c8f5e-63f1-4c7b-8f40-0123456789ab"}, "", "", true},
		{"parent not a uuid", TraceInfo{BaseID: "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d", ParentID: "zz0c8f5e-63f1-4c7b-8f40-0123456789ab"}, "", "", true},
		{"zero ids", TraceInfo{BaseID: "00000000-0000-0000-0000-000000000000"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, err := tt.ti.SpanContext()
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if sc.TraceID().String() != tt.wantTrace || sc.SpanID().String() != tt.wantSpan || !sc.IsRemote() || !sc.IsSampled() {
				t.Errorf("got trace %s span %s remote %v sampled %v, want %s %s remote sampled",
					sc.TraceID(), sc.SpanID(), sc.IsRemote(), sc.IsSampled(), tt.wantTrace, tt.wantSpan)
			}
		})
	}
}

func TestTraceInfoOfRoundTrip(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d")
	sid, _ := trace.SpanIDFromHex("0123456789abcdef")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	ti := TraceInfoOf(sc, "k")
	if ti.BaseID != "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d" || ti.ParentID != "3b4ffc2e-1c5f-4b8e-0123-456789abcdef" || ti.HMACKey != "k" {
		t.Fatalf("TraceInfoOf = %+v", ti)
	}
	back, err := ti.SpanContext()
	if err != nil || back.TraceID() != tid || back.SpanID() != sid {
		t.Fatalf("round trip: %v %v %v", back.TraceID(), back.SpanID(), err)
	}
}

func TestValidKey(t *testing.T) {
	for _, tt := range []struct {
		key  string
		keys []string
		want bool
	}{
		{"secret", []string{"other", "secret"}, true},
		{"secret", []string{"other"}, false},
		{"", []string{"other"}, false},
		{"secret", nil, false},
		{"secre", []string{"secret"}, false},
	} {
		if got := validKey(tt.key, tt.keys); got != tt.want {
			t.Errorf("validKey(%q, %q) = %v, want %v", tt.key, tt.keys, got, tt.want)
		}
	}
}

func ctxWith(t *testing.T, kv map[string]any) oslo.Context {
	t.Helper()
	c, err := oslo.ContextFrom(kv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStartReceiveParentsOnTraceInfo(t *testing.T) {
	pyTrace := map[string]any{"hmac_key": "secret", "base_id": "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d",
		"parent_id": "aa0c8f5e-63f1-4c7b-8f40-0123456789ab"}
	tests := []struct {
		name       string
		keys       []string
		traceInfo  any
		wantParent bool
	}{
		{"no keys configured: trusted, as nova's serializer does", nil, pyTrace, true},
		{"configured key", []string{"other", "secret"}, pyTrace, true},
		{"wrong key", []string{"other"}, pyTrace, false},
		{"malformed", nil, "junk", false},
		{"none", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := install(t, tt.keys...)
			kv := map[string]any{"user_id": "u"}
			if tt.traceInfo != nil {
				kv[TraceInfoKey] = tt.traceInfo
			}
			req := &oslo.Request{Method: "m", Context: ctxWith(t, kv), MsgID: "id"}
			_, sp := StartReceive(context.Background(), req, "")
			sp.End(nil)
			spans := rec.Ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			p := spans[0].Parent()
			got := p.IsValid() && p.TraceID().String() == "3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d" && p.SpanID().String() == "8f400123456789ab"
			if got != tt.wantParent || (!tt.wantParent && p.IsValid()) {
				t.Errorf("parent %v (valid %v), want parented on the Python span: %v", p.SpanID(), p.IsValid(), tt.wantParent)
			}
			if spans[0].SpanKind() != trace.SpanKindServer || spans[0].Name() != "oslo.receive m" {
				t.Errorf("span %q kind %v", spans[0].Name(), spans[0].SpanKind())
			}
		})
	}
}

func TestOutgoing(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d")
	sid, _ := trace.SpanIDFromHex("0123456789abcdef")
	traced := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	unsampled := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	forwarded := map[string]any{"hmac_key": "fwd", "base_id": "x", "parent_id": "y"}
	tests := []struct {
		name    string
		ctx     context.Context
		keys    []string
		in      map[string]any
		defKey  string
		wantKey string // "" means c comes back unchanged
	}{
		{"no span: unchanged (a forwarded trace_info travels on)", context.Background(), nil, map[string]any{"trace_info": forwarded}, "d", ""},
		{"unsampled span: unchanged (osprofiler would trace it)", unsampled, []string{"k1"}, map[string]any{"user_id": "u"}, "d", ""},
		{"forwarded key, no keys configured", traced, nil, map[string]any{"trace_info": forwarded}, "", "fwd"},
		{"forwarded key not configured: the first configured", traced, []string{"k1", "k2"}, map[string]any{"trace_info": forwarded}, "", "k1"},
		{"forwarded key configured", traced, []string{"k1", "fwd"}, map[string]any{"trace_info": forwarded}, "", "fwd"},
		{"no trace_info, default key", traced, nil, map[string]any{"user_id": "u"}, "d", "d"},
		{"no key at all: unchanged", traced, nil, map[string]any{"user_id": "u"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			install(t, tt.keys...)
			in := ctxWith(t, tt.in)
			orig, _ := json.Marshal(in)
			out := Outgoing(tt.ctx, in, tt.defKey)
			if after, _ := json.Marshal(in); string(after) != string(orig) {
				t.Fatalf("input modified: %s", after)
			}
			if tt.wantKey == "" {
				if got, _ := json.Marshal(out); string(got) != string(orig) {
					t.Fatalf("changed: %s", got)
				}
				return
			}
			ti, ok, err := ParseTraceInfo(out)
			if !ok || err != nil {
				t.Fatalf("no trace_info: %v", err)
			}
			want := TraceInfoOf(trace.SpanContextFromContext(tt.ctx), tt.wantKey)
			if ti != want {
				t.Errorf("trace_info %+v, want %+v", ti, want)
			}
			if _, ok := tt.in["user_id"]; ok && out.String("user_id") != "u" {
				t.Errorf("other keys lost: %v", out)
			}
		})
	}
}

func TestOffAllocatesNothing(t *testing.T) {
	active.Store(nil)
	req := &oslo.Request{Method: "m", Context: ctxWith(t, map[string]any{"trace_info": map[string]any{"base_id": "x"}})}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, sp := StartReceive(ctx, req, "00-3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d-0123456789abcdef-01")
		c, d := StartDispatch(c, req.Method)
		c, p := StartPluginCall(c, "invoke", "plugin", req.Method)
		_ = Traceparent(c)
		_, o := StartOutgoing(c, "call", "m", "x", "t", "s")
		_ = Outgoing(c, req.Context, "")
		_ = Headers(c)
		o.End(nil)
		p.End(nil)
		d.End(nil)
		sp.End(nil)
	})
	if allocs != 0 {
		t.Errorf("tracing off allocates %v per call", allocs)
	}
}

func TestStartReceiveTraceparent(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	pyTrace := map[string]any{"hmac_key": "secret", "base_id": "3b4ffc2e-1c5f-4b8e-9d2c-7a9e3f1b2c4d",
		"parent_id": "aa0c8f5e-63f1-4c7b-8f40-0123456789ab"}
	tests := []struct {
		name       string
		keys       []string
		traceInfo  any
		wantParent string // span id, "" for a root
	}{
		{"traceparent alone", nil, nil, "00f067aa0ba902b7"},
		{"trace_info wins", nil, pyTrace, "8f400123456789ab"},
		{"an untrusted trace_info is not bypassed", []string{"other"}, pyTrace, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := install(t, tt.keys...)
			kv := map[string]any{"user_id": "u"}
			if tt.traceInfo != nil {
				kv[TraceInfoKey] = tt.traceInfo
			}
			_, sp := StartReceive(context.Background(), &oslo.Request{Method: "m", Context: ctxWith(t, kv)}, tp)
			sp.End(nil)
			p := rec.Ended()[0].Parent()
			got := ""
			if p.IsValid() {
				got = p.SpanID().String()
			}
			if got != tt.wantParent {
				t.Errorf("parent %q, want %q", got, tt.wantParent)
			}
		})
	}
}

func TestHTTPURL(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "collector:4318", Insecure: true}, "http://collector:4318/v1/traces"},
		{Config{Endpoint: "collector:4318"}, "https://collector:4318/v1/traces"},
		{Config{Endpoint: "https://otlp.example/v1/traces"}, "https://otlp.example/v1/traces"},
		{Config{Endpoint: "http://c:4318/custom", Insecure: true}, "http://c:4318/custom"},
	} {
		if got := httpURL(tt.cfg); got != tt.want {
			t.Errorf("httpURL(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestSetup(t *testing.T) {
	for _, tt := range []struct {
		cfg     Config
		wantErr bool
	}{
		{Config{Endpoint: "127.0.0.1:4317", Insecure: true}, false},
		{Config{Endpoint: "127.0.0.1:4318", Protocol: ProtocolHTTP, Insecure: true}, false},
		{Config{Endpoint: "127.0.0.1:4317", Protocol: "udp"}, true},
		{Config{}, true},
	} {
		stop, err := Setup(context.Background(), tt.cfg, nil)
		if (err != nil) != tt.wantErr {
			t.Fatalf("Setup(%+v): %v, want error %v", tt.cfg, err, tt.wantErr)
		}
		if err != nil {
			if On() {
				t.Fatal("a failed Setup turned tracing on")
			}
			continue
		}
		if got, ok := Current(); !On() || !ok || got.Endpoint != tt.cfg.Endpoint {
			t.Errorf("after Setup: On %v, Current %+v", On(), got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = stop(ctx) // nothing to export
		cancel()
		if On() {
			t.Error("tracing still on after shutdown")
		}
	}
}
