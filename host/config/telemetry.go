package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Telemetry is the `telemetry` block: OpenTelemetry tracing exported over
// OTLP, with osprofiler's trace_info understood on incoming and written on
// outgoing messages. Without the block nothing is traced.
type Telemetry struct {
	Source `json:"-"`
	// OTLPEndpoint is host:port of the OTLP receiver (grpc), or host:port or
	// a URL (http; host:port gets /v1/traces).
	OTLPEndpoint string `json:"otlp_endpoint"`
	// Protocol is "grpc" (default) or "http" (OTLP/HTTP protobuf).
	Protocol string `json:"protocol"`
	// Insecure sends plain text instead of TLS.
	Insecure bool `json:"insecure"`
	// ServiceName is service.name of the host's spans ("oslohost"); a
	// plugin's spans carry "<service_name>.<plugin name>".
	ServiceName string `json:"service_name"`
	// SamplingRatio is the fraction of traces the host starts that are
	// sampled (default 1); traces continued from a caller are sampled as the
	// caller decided (osprofiler's trace_info always is).
	SamplingRatio float64 `json:"sampling_ratio"`
	// BatchTimeout is how long a finished span may wait before it is
	// exported (default 5s).
	BatchTimeout Duration `json:"batch_timeout"`
	// OsprofilerHMACKeys are osprofiler's [profiler] hmac_keys: an incoming
	// trace_info is continued only when its hmac_key is one of them, and the
	// first is written into the trace_info of traces the host starts. Empty:
	// every trace_info is continued, as nova's RPC serializer does.
	OsprofilerHMACKeys []string `json:"osprofiler_hmac_keys,omitempty"`
}

var telemetrySchema = &hcl.BodySchema{Attributes: attrs("otlp_endpoint", "protocol", "insecure",
	"service_name", "sampling_ratio", "batch_timeout", "osprofiler_hmac_keys")}

const defaultServiceName = "oslohost"

func (d *decoder) telemetry(blk *hcl.Block) {
	b, _ := d.body(blk, telemetrySchema)
	t := &Telemetry{Source: b.source(), Protocol: "grpc", ServiceName: defaultServiceName, SamplingRatio: 1}
	d.cfg.Telemetry = t
	b.required("otlp_endpoint")
	b.text("otlp_endpoint", &t.OTLPEndpoint)
	b.oneOf("protocol", &t.Protocol, "grpc", "http")
	b.boolean("insecure", &t.Insecure)
	b.text("service_name", &t.ServiceName)
	if v, ok := b.value("sampling_ratio", cty.Number); ok {
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || f > 1 {
			b.errorf(b.exprRange("sampling_ratio"), "Invalid number",
				"The value of \"sampling_ratio\" must be between 0 and 1, got %g.", f)
		} else {
			t.SamplingRatio = f
		}
	}
	b.duration("batch_timeout", &t.BatchTimeout)
	if keys, ok := b.list("osprofiler_hmac_keys"); ok {
		for _, k := range keys {
			if k.Value == "" {
				b.errorf(k.Range, "Empty value", "The elements of \"osprofiler_hmac_keys\" must not be empty.")
				continue
			}
			t.OsprofilerHMACKeys = append(t.OsprofilerHMACKeys, k.Value)
		}
	}
}
