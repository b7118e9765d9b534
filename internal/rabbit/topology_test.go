package rabbit

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TestTopology checks every declaration against the wire spec's tables
// (2.2, 2.3, 2.5) for the option variants captured from oslo 14.0.3 (A.18).
func TestTopology(t *testing.T) {
	ttl := 1800 * time.Second
	tests := []struct {
		name      string
		topo      Topology
		control   ExchangeDecl
		shared    QueueDecl
		transient amqp.Table
	}{
		{"default", Topology{TransientTTL: ttl},
			ExchangeDecl{Name: "openstack", Kind: "topic"},
			QueueDecl{Name: "t"},
			amqp.Table{"x-expires": int32(1800000)}},
		{"durable", Topology{Durable: true, TransientTTL: ttl},
			ExchangeDecl{Name: "openstack", Kind: "topic", Durable: true},
			QueueDecl{Name: "t", Durable: true},
			amqp.Table{"x-expires": int32(1800000)}},
		{"autodelete", Topology{AutoDelete: true, TransientTTL: ttl},
			ExchangeDecl{Name: "openstack", Kind: "topic", AutoDelete: true},
			QueueDecl{Name: "t", AutoDelete: true},
			amqp.Table{"x-expires": int32(1800000)}},
		{"ha", Topology{HAQueues: true, TransientTTL: ttl},
			ExchangeDecl{Name: "openstack", Kind: "topic"},
			QueueDecl{Name: "t", Args: amqp.Table{"x-ha-policy": "all"}},
			amqp.Table{"x-ha-policy": "all", "x-expires": int32(1800000)}},
		{"quorum with limits", Topology{Quorum: true, QuorumDeliveryLimit: 3, QuorumMaxMemoryLength: 10, QuorumMaxMemoryBytes: 1024, TransientTTL: ttl},
			ExchangeDecl{Name: "openstack", Kind: "topic", Durable: true},
			QueueDecl{Name: "t", Durable: true, Args: amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int64(3), "x-max-in-memory-length": int64(10), "x-max-in-memory-bytes": int64(1024)}},
			amqp.Table{"x-expires": int32(1800000)}},
		{"no ttl (newer oslo)", Topology{},
			ExchangeDecl{Name: "openstack", Kind: "topic"},
			QueueDecl{Name: "t"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.control, tt.topo.ControlExchange("openstack")); d != "" {
				t.Errorf("control exchange (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.shared, tt.topo.SharedQueue("t")); d != "" {
				t.Errorf("shared queue (-want +got):\n%s", d)
			}
			if d := cmp.Diff(ExchangeDecl{Name: "t_fanout", Kind: "fanout", AutoDelete: true}, tt.topo.FanoutExchange("t")); d != "" {
				t.Errorf("fanout exchange (-want +got):\n%s", d)
			}
			fq, rq := tt.topo.FanoutQueue("t"), tt.topo.ReplyQueue()
			if !strings.HasPrefix(fq.Name, "t_fanout_") || len(fq.Name) != len("t_fanout_")+32 {
				t.Errorf("fanout queue name %q", fq.Name)
			}
			if !strings.HasPrefix(rq.Name, "reply_") || len(rq.Name) != len("reply_")+32 {
				t.Errorf("reply queue name %q", rq.Name)
			}
			for _, q := range []QueueDecl{fq, rq} {
				if q.Durable || q.AutoDelete || q.Exclusive {
					t.Errorf("%s: flags durable=%v auto_delete=%v exclusive=%v, want all false", q.Name, q.Durable, q.AutoDelete, q.Exclusive)
				}
				if d := cmp.Diff(tt.transient, q.Args); d != "" {
					t.Errorf("%s arguments (-want +got):\n%s", q.Name, d)
				}
			}
		})
	}
}

func TestTopologyFromOptions(t *testing.T) {
	u, err := ParseURL("rabbit://h/?amqp_durable_queues=true&rabbit_quorum_delivery_limit=5&rabbit_transient_queues_ttl=60")
	if err != nil {
		t.Fatal(err)
	}
	got := TopologyFrom(u.Options)
	want := Topology{Durable: true, QuorumDeliveryLimit: 5, TransientTTL: time.Minute}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatal(d)
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(Options{RetryInterval: time.Second, IntervalMax: 8 * time.Second})
	var got []time.Duration
	for i := 0; i < 7; i++ {
		got = append(got, b.next())
	}
	// ±20 % jitter around 0.25, 1, 2, 4, 4, 4, 4 seconds: rabbit_interval_max
	// (8 s here) is capped at maxReconnectWait.
	want := []time.Duration{250 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		lo, hi := want[i]*8/10, want[i]*12/10
		if got[i] < lo || got[i] > hi {
			t.Errorf("attempt %d waited %v, want within [%v, %v]", i+1, got[i], lo, hi)
		}
	}
	b.reset()
	if d := b.next(); d > 300*time.Millisecond {
		t.Errorf("after reset the first wait is %v", d)
	}
}

func TestHostRing(t *testing.T) {
	r := newHostRing(make([]Host, 3), "round-robin")
	first := r.next()
	for i := 1; i <= 6; i++ {
		if got := r.next(); got != (first+i)%3 {
			t.Fatalf("step %d: host %d, want %d", i, got, (first+i)%3)
		}
	}
}
