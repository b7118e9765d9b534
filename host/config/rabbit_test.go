package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestRabbitOptionsAttribute: oslo_messaging_rabbit takes options by their
// oslo names, values converted as oslo.config reads a file; an unknown name
// or a bad value is reported at that option's line.
func TestRabbitOptionsAttribute(t *testing.T) {
	cfg := mustLoadBytes(t, `
transport {
  url = "rabbit://h/"
  oslo_messaging_rabbit = {
    rabbit_transient_quorum_queue = true
    rabbit_qos_prefetch_count     = 10
    kombu_reconnect_splay         = 0.5
    processname                   = "nova-api"
  }
}
`)
	want := []RabbitOption{
		{Name: "kombu_reconnect_splay", Value: "0.5"},
		{Name: "processname", Value: "nova-api"},
		{Name: "rabbit_qos_prefetch_count", Value: "10"},
		{Name: "rabbit_transient_quorum_queue", Value: "true"},
	}
	got := cfg.Transport.Rabbit
	for i := range got {
		got[i].Range = hcl.Range{}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("options (-want +got):\n%s", d)
	}

	tests := []struct {
		opts string
		line int
		want string
	}{
		{"rabbit_stream_fanouts = true", 4, "no such option rabbit_stream_fanouts in group [oslo_messaging_rabbit]"},
		{"rabbit_qos_prefetch_count = 1.5", 4, `invalid value "1.5" for option rabbit_qos_prefetch_count`},
		{"a = true\n    rabbit_transient_queues_ttl = -1", 5, "should be greater than or equal to 0"},
		{"kombu_reconnect_splay = [1]", 4, "must be a string, number or bool"},
	}
	for _, tt := range tests {
		t.Run(tt.opts, func(t *testing.T) {
			src := "transport {\n  url = \"rabbit://h/\"\n  oslo_messaging_rabbit = {\n    " + tt.opts + "\n  }\n}\n"
			_, diags := LoadBytes("t.hcl", []byte(src))
			var found bool
			for _, d := range diags {
				if strings.Contains(d.Detail, tt.want) && d.Subject != nil && d.Subject.Start.Line == tt.line {
					found = true
				}
			}
			if !found {
				t.Fatalf("want an error containing %q at line %d, got %s", tt.want, tt.line, diags)
			}
		})
	}
}
