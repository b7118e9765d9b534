package host

import (
	"context"
	"fmt"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// startTelemetry turns tracing on when the configuration has a telemetry
// block. The block is read at start only: a reload does not change it.
func (h *Host) startTelemetry(ctx context.Context, t *config.Telemetry) error {
	if t == nil {
		return nil
	}
	stop, err := tracing.Setup(ctx, tracingConfig(t), h.log.Named("telemetry"))
	if err != nil {
		return fmt.Errorf("telemetry: %w", err)
	}
	h.mu.Lock()
	h.stopTracing = stop
	h.mu.Unlock()
	h.log.Info("tracing", "otlp_endpoint", t.OTLPEndpoint, "protocol", t.Protocol, "sampling_ratio", t.SamplingRatio,
		"osprofiler_hmac_keys", len(t.OsprofilerHMACKeys))
	return nil
}

// stopTelemetry exports the spans not yet exported and turns tracing off.
func (h *Host) stopTelemetry(ctx context.Context) {
	h.mu.Lock()
	stop := h.stopTracing
	h.stopTracing = nil
	h.mu.Unlock()
	if stop == nil {
		return
	}
	if err := stop(ctx); err != nil {
		h.log.Warn("telemetry: flushing spans failed", "error", err)
	}
}

func tracingConfig(t *config.Telemetry) tracing.Config {
	return tracing.Config{
		Endpoint: t.OTLPEndpoint, Protocol: t.Protocol, Insecure: t.Insecure, ServiceName: t.ServiceName,
		SamplingRatio: t.SamplingRatio, BatchTimeout: t.BatchTimeout.Duration(), HMACKeys: t.OsprofilerHMACKeys,
	}
}

// pluginTelemetry is the telemetry a plugin is configured with: the host's
// exporter settings under the plugin's own service name; nil when the host
// traces nothing.
func pluginTelemetry(plugin string) *pluginv1.Telemetry {
	t, ok := tracing.Current()
	if !ok {
		return nil
	}
	return &pluginv1.Telemetry{
		OtlpEndpoint: t.Endpoint, Protocol: t.Protocol, Insecure: t.Insecure,
		ServiceName: t.ServiceName + "." + plugin, SamplingRatio: t.SamplingRatio,
		BatchTimeoutMs: t.BatchTimeout.Milliseconds(),
	}
}
