package rabbit

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
)

// ExchangeDecl is an exchange declaration.
type ExchangeDecl struct {
	Name       string
	Kind       string // "topic" or "fanout"
	Durable    bool
	AutoDelete bool
}

// QueueDecl is a queue declaration.
type QueueDecl struct {
	Name       string
	Durable    bool
	AutoDelete bool
	Exclusive  bool
	Args       amqp.Table
}

// Binding binds a queue to an exchange with a routing key.
type Binding struct {
	Queue, Exchange, Key string
}

// Topology produces the exchanges and queues exactly as oslo.messaging
// 14.0.3 declares them (wire spec 2.2, 2.3, 7.2, 7.5), so that declarations
// shared with Python services are equivalent and RabbitMQ accepts both.
// It is a plain value, safe for concurrent use.
type Topology struct {
	Durable    bool // amqp_durable_queues
	AutoDelete bool // amqp_auto_delete
	HAQueues   bool // rabbit_ha_queues: x-ha-policy "all" on every queue
	Quorum     bool // rabbit_quorum_queue
	// QuorumDeliveryLimit, QuorumMaxMemoryLength, QuorumMaxMemoryBytes add
	// their x- arguments to quorum queues when positive.
	QuorumDeliveryLimit   int64
	QuorumMaxMemoryLength int64
	QuorumMaxMemoryBytes  int64
	// TransientTTL is x-expires of reply and fanout queues; 0 omits it.
	TransientTTL time.Duration
}

// TopologyFrom derives the topology from transport options.
func TopologyFrom(o Options) Topology {
	return Topology{
		Durable:               o.DurableQueues,
		AutoDelete:            o.AutoDelete,
		HAQueues:              o.HAQueues,
		Quorum:                o.QuorumQueue,
		QuorumDeliveryLimit:   int64(o.QuorumDeliveryLimit),
		QuorumMaxMemoryLength: int64(o.QuorumMaxMemoryLength),
		QuorumMaxMemoryBytes:  int64(o.QuorumMaxMemoryBytes),
		TransientTTL:          o.TransientQueuesTTL,
	}
}

// durable is D of the spec: amqp_durable_queues or quorum queues.
func (t Topology) durable() bool { return t.Durable || t.Quorum }

// ControlExchange is the topic exchange RPC and notifications go through.
func (t Topology) ControlExchange(name string) ExchangeDecl {
	return ExchangeDecl{Name: name, Kind: amqp.ExchangeTopic, Durable: t.durable(), AutoDelete: t.AutoDelete}
}

// FanoutExchange is "<topic>_fanout": never durable, always auto-delete.
func (t Topology) FanoutExchange(topic string) ExchangeDecl {
	return ExchangeDecl{Name: topic + "_fanout", Kind: amqp.ExchangeFanout, AutoDelete: true}
}

// SharedQueue is a topic, topic.server or notification queue: flags D/A,
// arguments x-ha-policy and the quorum ones, no x-expires.
func (t Topology) SharedQueue(name string) QueueDecl {
	args := t.haArgs()
	if t.Quorum {
		args["x-queue-type"] = "quorum"
		if t.QuorumDeliveryLimit > 0 {
			args["x-delivery-limit"] = t.QuorumDeliveryLimit
		}
		if t.QuorumMaxMemoryLength > 0 {
			args["x-max-in-memory-length"] = t.QuorumMaxMemoryLength
		}
		if t.QuorumMaxMemoryBytes > 0 {
			args["x-max-in-memory-bytes"] = t.QuorumMaxMemoryBytes
		}
	}
	return QueueDecl{Name: name, Durable: t.durable(), AutoDelete: t.AutoDelete, Args: nilIfEmpty(args)}
}

// FanoutQueue is a server process's own "<topic>_fanout_<uuid hex>" queue.
func (t Topology) FanoutQueue(topic string) QueueDecl {
	return t.transientQueue(topic + "_fanout_" + oslo.NewID())
}

// ReplyQueue is a client's own "reply_<uuid hex>" queue.
func (t Topology) ReplyQueue() QueueDecl { return t.transientQueue("reply_" + oslo.NewID()) }

func (t Topology) transientQueue(name string) QueueDecl {
	args := t.haArgs()
	if t.TransientTTL > 0 {
		args["x-expires"] = int32(t.TransientTTL / time.Millisecond)
	}
	return QueueDecl{Name: name, Args: nilIfEmpty(args)}
}

func (t Topology) haArgs() amqp.Table {
	args := amqp.Table{}
	if t.HAQueues {
		args["x-ha-policy"] = "all"
	}
	return args
}

func nilIfEmpty(t amqp.Table) amqp.Table {
	if len(t) == 0 {
		return nil
	}
	return t
}
