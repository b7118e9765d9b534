package sdk

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

type spanProbe struct{ seen chan trace.SpanContext }

func (p spanProbe) Probe(ctx context.Context) (string, error) {
	p.seen <- trace.SpanFromContext(ctx).SpanContext()
	return "ok", nil
}

// TestInvokeGivesTheMethodItsSpan: with tracing on, a call whose request
// carries the host's traceparent runs under a span of the SDK's, a child of
// the host's, that the method gets with trace.SpanFromContext; a call
// without one runs under none.
func TestInvokeGivesTheMethodItsSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	off := tracing.Use(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)), nil, nil)
	defer off()
	probe := spanProbe{seen: make(chan trace.SpanContext, 1)}
	s := newServer(Static(Endpoint{Impl: probe}), hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{PluginName: "p"}); err != nil {
		t.Fatal(err)
	}
	const hostTrace, hostSpan = "3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d", "0123456789abcdef"
	for _, tt := range []struct {
		name, traceparent string
		want              bool
	}{
		{"traced", "00-" + hostTrace + "-" + hostSpan + "-01", true},
		{"untraced", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Invoke(context.Background(), &pluginv1.InvokeRequest{Version: "1.0", Method: "probe", Traceparent: tt.traceparent})
			if err != nil || resp.GetFailure() != nil {
				t.Fatal(err, resp.GetFailure())
			}
			sc := <-probe.seen
			if sc.IsValid() != tt.want {
				t.Fatalf("span in the method: %v, want %v", sc.IsValid(), tt.want)
			}
			if !tt.want {
				return
			}
			ended := rec.Ended()
			last := ended[len(ended)-1]
			if last.Name() != "plugin.handle probe" || last.SpanContext().SpanID() != sc.SpanID() ||
				last.Parent().TraceID().String() != hostTrace || last.Parent().SpanID().String() != hostSpan {
				t.Errorf("span %q %v parent %v, want plugin.handle probe under the host's", last.Name(), last.SpanContext(), last.Parent())
			}
		})
	}
}

// BenchmarkServerInvokeTraced is BenchmarkServerInvoke with tracing on and
// the host's traceparent in the request: the SDK's span per call (export
// excluded: no processor).
func BenchmarkServerInvokeTraced(b *testing.B) {
	off := tracing.Use(sdktrace.NewTracerProvider(), nil, nil)
	defer off()
	s := newServer(Static(Endpoint{Impl: benchEcho{}}), hclog.NewNullLogger())
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{PluginName: "bench"}); err != nil {
		b.Fatal(err)
	}
	req := &pluginv1.InvokeRequest{
		Version: "1.0", Method: "echo", ContextJson: []byte(novaContext),
		ArgsJson:    []byte(`{"value": "` + strings.Repeat("x", 100) + `"}`),
		MsgId:       "0123456789abcdef0123456789abcdef",
		Traceparent: "00-3b4ffc2e1c5f4b8e9d2c7a9e3f1b2c4d-0123456789abcdef-01",
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := s.Invoke(context.Background(), req)
		if err != nil || resp.GetFailure() != nil {
			b.Fatal(err, resp.GetFailure())
		}
	}
}
