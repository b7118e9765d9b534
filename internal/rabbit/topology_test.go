package rabbit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
			fq, rq := tt.topo.FanoutQueue("t", RandomName), tt.topo.ReplyQueue(RandomName)
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

// TestTopology16 checks the declarations of oslo.messaging 16.1.0's
// transient quorum queues, stream fanout and queue manager against
// impl_rabbit.py (declare_direct_consumer, declare_fanout_consumer,
// _get_queue_arguments, fanout_send).
func TestTopology16(t *testing.T) {
	ttl := 1800 * time.Second
	name := func() string { return "h:p:1" }
	quorum := amqp.Table{"x-queue-type": "quorum", "x-expires": int32(1800000)}
	tests := []struct {
		name          string
		topo          Topology
		fanoutX       ExchangeDecl
		fanoutQ       QueueDecl
		reply         QueueDecl
		deletesFanout bool
	}{
		{"transient quorum", Topology{TransientQuorum: true, TransientTTL: ttl},
			ExchangeDecl{Name: "t_fanout", Kind: "fanout", Durable: true, AutoDelete: true},
			QueueDecl{Name: "t_fanout_h:p:1", Durable: true, Args: quorum},
			QueueDecl{Name: "reply_h:p:1", Durable: true, Args: quorum}, true},
		{"transient quorum with limits, no ttl", Topology{TransientQuorum: true, QuorumDeliveryLimit: 3, QuorumMaxMemoryBytes: 9},
			ExchangeDecl{Name: "t_fanout", Kind: "fanout", Durable: true, AutoDelete: true},
			QueueDecl{Name: "t_fanout_h:p:1", Durable: true, Args: amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int64(3), "x-max-in-memory-bytes": int64(9)}},
			QueueDecl{Name: "reply_h:p:1", Durable: true, Args: amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int64(3), "x-max-in-memory-bytes": int64(9)}}, true},
		{"stream fanout", Topology{TransientQuorum: true, StreamFanout: true, TransientTTL: ttl},
			ExchangeDecl{Name: "t_fanout", Kind: "fanout", Durable: true, AutoDelete: true},
			QueueDecl{Name: "t_fanout", Durable: true, Args: amqp.Table{"x-queue-type": "stream", "x-max-age": "1800s"}, Stream: true},
			QueueDecl{Name: "reply_h:p:1", Durable: true, Args: quorum}, false},
		{"stream fanout without ttl", Topology{TransientQuorum: true, StreamFanout: true},
			ExchangeDecl{Name: "t_fanout", Kind: "fanout", Durable: true, AutoDelete: true},
			QueueDecl{Name: "t_fanout", Durable: true, Args: amqp.Table{"x-queue-type": "stream"}, Stream: true},
			QueueDecl{Name: "reply_h:p:1", Durable: true, Args: amqp.Table{"x-queue-type": "quorum"}}, false},
		{"queue manager, classic", Topology{QueueManager: true, TransientTTL: ttl},
			ExchangeDecl{Name: "t_fanout", Kind: "fanout", AutoDelete: true},
			QueueDecl{Name: "t_fanout_h:p:1", Args: amqp.Table{"x-expires": int32(1800000)}},
			QueueDecl{Name: "reply_h:p:1", Args: amqp.Table{"x-expires": int32(1800000)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.fanoutX, tt.topo.FanoutExchange("t")); d != "" {
				t.Errorf("fanout exchange (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.fanoutQ, tt.topo.FanoutQueue("t", name)); d != "" {
				t.Errorf("fanout queue (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.reply, tt.topo.ReplyQueue(name)); d != "" {
				t.Errorf("reply queue (-want +got):\n%s", d)
			}
			if got := tt.topo.DeletesFanoutQueue(); got != tt.deletesFanout {
				t.Errorf("DeletesFanoutQueue = %v, want %v", got, tt.deletesFanout)
			}
			p := tt.topo.ServerPlan("x", "t", "s", false, name)
			if got := len(p.DeleteOnStop) > 0; got != tt.deletesFanout {
				t.Errorf("plan deletes %v on stop", p.DeleteOnStop)
			}
		})
	}
}

func TestQueueManager(t *testing.T) {
	dir := t.TempDir()
	m := QueueManager{Hostname: "node1", ProcessName: "nova-api", Dir: dir, LockDir: dir}
	for i := 1; i <= 3; i++ {
		got, err := m.Next()
		if err != nil {
			t.Fatal(err)
		}
		if want := "node1:nova-api:" + strconv.Itoa(i); got != want {
			t.Fatalf("name %d = %q, want %q", i, got, want)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "node1_nova-api_qmanager"))
	if err != nil {
		t.Fatal(err)
	}
	pg, counter, _, ok := parseCounter(string(data))
	if !ok || pg != syscall.Getpgrp() || counter != 3 {
		t.Fatalf("counter file %q", data)
	}
	// Another process group's counter (a restarted service) starts over.
	if err := os.WriteFile(filepath.Join(dir, "node1_nova-api_qmanager"), []byte("1:41:7"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Next(); got != "node1:nova-api:1" {
		t.Fatalf("after a restart: %q", got)
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

// TestBackoffSplay: kombu_reconnect_splay adds a random 0..splay to every
// wait, as oslo's on_error adds random.uniform(0, splay).
func TestBackoffSplay(t *testing.T) {
	b := newBackoff(Options{RetryInterval: time.Second, IntervalMax: time.Second, ReconnectSplay: 2 * time.Second})
	b.next() // the first, quick retry
	var above bool
	for i := 0; i < 200; i++ {
		d := b.next()
		if d < 800*time.Millisecond || d > 1200*time.Millisecond+2*time.Second {
			t.Fatalf("wait %v outside jittered 1s + 0..2s", d)
		}
		above = above || d > 1300*time.Millisecond
	}
	if !above {
		t.Error("no wait got any splay")
	}
}
