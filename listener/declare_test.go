package listener

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/rabbit"
)

// TestDeclarations checks the topology of wire spec 7.5 (and A.17's pool
// listener listing).
func TestDeclarations(t *testing.T) {
	plain := rabbit.TopologyFrom(rabbit.DefaultOptions())
	q := func(name string) rabbit.QueueDecl { return rabbit.QueueDecl{Name: name} }
	x := func(name string) rabbit.ExchangeDecl { return rabbit.ExchangeDecl{Name: name, Kind: "topic"} }
	tests := []struct {
		name       string
		topo       rabbit.Topology
		targets    []Target
		priorities []string
		pool       string
		want       topology
	}{
		{
			name: "no pool: a queue per topic and priority", topo: plain,
			targets: []Target{{Topic: "notifications"}, {Topic: "versioned", Exchange: "nova"}}, priorities: []string{"info", "error"},
			want: topology{
				decl: rabbit.Declarations{
					Exchanges: []rabbit.ExchangeDecl{x("openstack"), x("nova")},
					Queues:    []rabbit.QueueDecl{q("notifications.info"), q("notifications.error"), q("versioned.info"), q("versioned.error")},
					Bindings: []rabbit.Binding{
						{Queue: "notifications.info", Exchange: "openstack", Key: "notifications.info"},
						{Queue: "notifications.error", Exchange: "openstack", Key: "notifications.error"},
						{Queue: "versioned.info", Exchange: "nova", Key: "versioned.info"},
						{Queue: "versioned.error", Exchange: "nova", Key: "versioned.error"},
					},
				},
				queues: []string{"notifications.info", "notifications.error", "versioned.info", "versioned.error"},
			},
		},
		{
			name: "pool: one queue bound with every key (A.17)", topo: plain,
			targets: []Target{{Topic: "notifications"}}, priorities: []string{"info", "error"}, pool: "wirepool",
			want: topology{
				decl: rabbit.Declarations{
					Exchanges: []rabbit.ExchangeDecl{x("openstack")},
					Queues:    []rabbit.QueueDecl{q("wirepool")},
					Bindings: []rabbit.Binding{
						{Queue: "wirepool", Exchange: "openstack", Key: "notifications.info"},
						{Queue: "wirepool", Exchange: "openstack", Key: "notifications.error"},
					},
				},
				queues: []string{"wirepool"},
			},
		},
		{
			name:    "flags D/A and arguments H+Q, never x-expires",
			topo:    rabbit.Topology{Durable: true, AutoDelete: true, HAQueues: true, Quorum: true, QuorumDeliveryLimit: 5, TransientTTL: time.Minute},
			targets: []Target{{Topic: "n"}, {Topic: "n"}}, priorities: []string{"sample"},
			want: topology{
				decl: rabbit.Declarations{
					Exchanges: []rabbit.ExchangeDecl{{Name: "openstack", Kind: "topic", Durable: true, AutoDelete: true}},
					Queues: []rabbit.QueueDecl{{Name: "n.sample", Durable: true, AutoDelete: true,
						Args: amqp.Table{"x-ha-policy": "all", "x-queue-type": "quorum", "x-delivery-limit": int64(5)}}},
					Bindings: []rabbit.Binding{{Queue: "n.sample", Exchange: "openstack", Key: "n.sample"}},
				},
				queues: []string{"n.sample"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := declarations(tt.topo, "openstack", tt.targets, tt.priorities, tt.pool)
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(topology{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
