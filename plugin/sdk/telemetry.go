package sdk

import (
	"context"
	"time"

	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// Tracing needs nothing from a plugin author. When the host traces (its
// configuration has a telemetry block) it hands the plugin its OTLP
// settings at Configure, and the SDK exports the plugin's spans itself to
// the same endpoint, under the service name "<host service>.<plugin>".
// Each call then runs under a span parented on the host's (a child of the
// Python caller's osprofiler trace when there is one), which methods get
// with the standard API, trace.SpanFromContext(ctx), and under which they
// may start their own spans with any OpenTelemetry tracer
// (otel.Tracer(...) uses the provider the SDK installed). Calls, casts and
// notifications made through [Host] carry the trace on: to the host, and
// from there to the next Python service as osprofiler's trace_info.
// Without a telemetry block in the host nothing is set up and no span is
// made.

// startTelemetry sets up span export as the host asked; under s.mu.
func (s *server) startTelemetry(ctx context.Context, t *pluginv1.Telemetry) {
	if t == nil || t.GetOtlpEndpoint() == "" || s.stopTracing != nil {
		return
	}
	stop, err := tracing.Setup(ctx, tracing.Config{
		Endpoint: t.GetOtlpEndpoint(), Protocol: t.GetProtocol(), Insecure: t.GetInsecure(),
		ServiceName: t.GetServiceName(), SamplingRatio: t.GetSamplingRatio(),
		BatchTimeout: time.Duration(t.GetBatchTimeoutMs()) * time.Millisecond,
	}, s.logger.Named("telemetry"))
	if err != nil { // not fatal: the plugin serves untraced
		s.logger.Warn("tracing not set up", "error", err)
		return
	}
	s.stopTracing = stop
}

// stopTelemetry exports the spans not yet exported; under s.mu.
func (s *server) stopTelemetry(ctx context.Context) {
	if s.stopTracing == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.stopTracing(ctx); err != nil {
		s.logger.Warn("exporting the last spans failed", "error", err)
	}
	s.stopTracing = nil
}

// spanError is the error a call's span records: the gRPC error, or the
// exception the method raised.
func spanError(resp *pluginv1.InvokeResponse, err error) error {
	if err != nil {
		return err
	}
	if f := resp.GetFailure(); f != nil {
		return remoteFromFailure(f)
	}
	return nil
}
