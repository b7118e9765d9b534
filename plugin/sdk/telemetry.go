package sdk

import (
	"context"
	"time"

	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// The plugin side of tracing (see "Tracing" in the package doc).

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
