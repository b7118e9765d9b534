package server

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/oslohost/oslohost/internal/tracing"
)

// BenchmarkDispatchTraced is BenchmarkDispatch with tracing on: the
// receive and dispatch spans, parented on the request's trace_info, are
// made and ended (the batch exporter's own work excluded: no processor).
func BenchmarkDispatchTraced(b *testing.B) {
	off := tracing.Use(sdktrace.NewTracerProvider(), []string{"SECRET_KEY"}, nil)
	defer off()
	s, req, ctx := benchServer(), benchRequest(b), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.dispatch(ctx, req, time.Time{}, "")
	}
}
