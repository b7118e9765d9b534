package host

import (
	"strings"
	"testing"

	"github.com/oslohost/oslohost/host/config"
)

// TestPlanTopology: the topology of a configuration, and the clashes inside
// it that validate refuses, each at the second block.
func TestPlanTopology(t *testing.T) {
	const base = `transport {
  url = "rabbit://h/%s"
  control_exchange = "%s"
}
plugin "p" {
  command = "/bin/true"
}
`
	tests := []struct {
		name, query, exchange, blocks string
		wantQueues                    []string
		wantErr                       string // "" = no diagnostics
		wantLine                      int
	}{
		{"server and pool listener", "", "openstack", `server "s" {
  topic   = "t"
  server  = "h"
  plugins = ["p"]
}
listener "l" {
  topics  = ["n"]
  pool    = "pool"
  priorities = ["info"]
  plugins = ["p"]
}`, []string{"t", "t.h", "t_fanout_<unique>", "pool"}, "", 0},
		{"stream fanout is one shared queue", "?rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=5", "openstack", `server "s" {
  topic   = "t"
  server  = "h"
  plugins = ["p"]
}`, []string{"t", "t.h", "t_fanout"}, "", 0},
		{"pool named like a topic", "", "openstack", `server "s" {
  topic   = "audit"
  server  = "h"
  plugins = ["p"]
}
listener "l" {
  topics  = ["n"]
  pool    = "audit"
  plugins = ["p"]
}`, nil, `listener "l" consumes queue "audit", which server "s"`, 15},
		{"two servers on one topic", "", "openstack", `server "a" {
  topic   = "t"
  server  = "h1"
  plugins = ["p"]
}
server "b" {
  topic   = "t"
  server  = "h2"
  plugins = ["p"]
}`, nil, `server "b" consumes queue "t", which server "a"`, 14},
		{"two listeners without pool on one topic", "", "openstack", `listener "a" {
  topics  = ["n"]
  plugins = ["p"]
}
listener "b" {
  topics  = ["n"]
  plugins = ["p"]
}`, nil, `listener "b" consumes queues ["n.audit" "n.debug"`, 13},
		{"control exchange named like a fanout exchange", "", "t_fanout", `server "s" {
  topic   = "t"
  server  = "h"
  plugins = ["p"]
}`, nil, `declares exchange "t_fanout" as fanout`, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(strings.Replace(base, "%s", tt.query, 1), "%s", tt.exchange, 1) + tt.blocks + "\n"
			cfg, diags := config.LoadBytes("t.hcl", []byte(src))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			top, diags := PlanTopology(cfg)
			if tt.wantErr == "" {
				if len(diags) > 0 {
					t.Fatal(diags)
				}
				var names []string
				for _, q := range top.Queues {
					names = append(names, q.Name)
				}
				if strings.Join(names, " ") != strings.Join(tt.wantQueues, " ") {
					t.Errorf("queues %v, want %v", names, tt.wantQueues)
				}
				return
			}
			if len(diags) != 1 || !strings.Contains(diags[0].Detail, tt.wantErr) || diags[0].Subject.Start.Line != tt.wantLine {
				t.Fatalf("diagnostics %v, want one containing %q at line %d", diags, tt.wantErr, tt.wantLine)
			}
		})
	}
}

// TestTransportOptionsRefused: a combination oslo refuses, and an option
// oslohost does not honour, are reported at the option in the
// oslo_messaging_rabbit attribute (from the URL's query: at the url).
func TestTransportOptionsRefused(t *testing.T) {
	tests := []struct {
		url, opts string
		want      string
		line      int
	}{
		{"rabbit://h/", "rabbit_stream_fanout = true\n    rabbit_transient_quorum_queue = true", "rabbit_stream_fanout need rabbit_qos_prefetch_count", 4},
		{"rabbit://h/", "kombu_compression = \"gzip\"", "kombu_compression = gzip is not supported by oslohost", 4},
		{"rabbit://h/?rabbit_ha_queues=true", "rabbit_transient_quorum_queue = true", "rabbit_transient_quorum_queue and rabbit_ha_queues both enabled", 4},
		{"rabbit://h/?rabbit_stream_fanout=true&rabbit_qos_prefetch_count=1", "", "rabbit_stream_fanout need rabbit_transient_quorum_queue", 2},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			src := "transport {\n  url = \"" + tt.url + "\"\n  oslo_messaging_rabbit = {\n    " + tt.opts + "\n  }\n}\n"
			cfg, diags := config.LoadBytes("t.hcl", []byte(src))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			_, diags = PlanTopology(cfg)
			if len(diags) != 1 || !strings.Contains(diags[0].Detail, tt.want) || diags[0].Subject.Start.Line != tt.line {
				t.Fatalf("diagnostics %v, want %q at line %d", diags, tt.want, tt.line)
			}
		})
	}
}
