package config

import "github.com/hashicorp/hcl/v2"

// The block and attribute names each level accepts; anything else is an
// "Unsupported argument" or "Unsupported block type" error.
var (
	rootSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "transport"},
		{Type: "host"},
		{Type: "executor", LabelNames: []string{"name"}},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "server", LabelNames: []string{"name"}},
		{Type: "listener", LabelNames: []string{"name"}},
		{Type: "admin"},
		{Type: "log"},
		{Type: "telemetry"},
	}}

	transportSchema = &hcl.BodySchema{
		Attributes: attrs("url", "control_exchange", "quorum_queues", "heartbeat", "prefetch",
			"oslo_messaging_rabbit"),
		Blocks: []hcl.BlockHeaderSchema{{Type: "tls"}},
	}
	tlsSchema  = &hcl.BodySchema{Attributes: attrs("ca_file", "cert_file", "key_file", "insecure_skip_verify")}
	hostSchema = &hcl.BodySchema{Attributes: attrs("shutdown_timeout", "drain_timeout", "drain_ceiling",
		"max_draining", "probation", "dedup_window", "dedup_max_ids", "max_message_size", "gomaxprocs")}
	executorSchema = &hcl.BodySchema{Attributes: attrs("kind", "workers")}
	pluginSchema   = &hcl.BodySchema{Attributes: attrs("command", "args", "env", "sha256", "config",
		"watch", "start_timeout", "max_message_size", "drain_ceiling", "probation")}
	serverSchema = &hcl.BodySchema{Attributes: attrs("topic", "server", "exchange", "executor", "plugins",
		"fanout", "call_timeout")}
	listenerSchema = &hcl.BodySchema{
		Attributes: attrs("topics", "exchange", "priorities", "pool", "event_types", "publisher_ids",
			"executor", "plugins", "allow_requeue", "max_requeues"),
		Blocks: []hcl.BlockHeaderSchema{{Type: "batch"}},
	}
	batchSchema = &hcl.BodySchema{Attributes: attrs("size", "timeout")}
	adminSchema = &hcl.BodySchema{Attributes: attrs("listen", "token")}
	logSchema   = &hcl.BodySchema{Attributes: attrs("level", "format")}
)

// attrs lists optional attributes; required ones are checked by the decoder
// so the error points at the block header.
func attrs(names ...string) []hcl.AttributeSchema {
	out := make([]hcl.AttributeSchema, len(names))
	for i, n := range names {
		out[i] = hcl.AttributeSchema{Name: n}
	}
	return out
}
