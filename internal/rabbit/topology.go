package rabbit

import (
	"strconv"
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
	// Stream marks a stream queue: consumed from an offset (x-stream-offset),
	// which the consumer keeps across reconnects.
	Stream bool `json:"-"`
}

// Binding binds a queue to an exchange with a routing key.
type Binding struct {
	Queue, Exchange, Key string
}

// Topology produces the exchanges and queues exactly as oslo.messaging
// declares them (wire spec 2.2, 2.3, 7.2, 7.5 for 14.0.3; 16.1.0's
// transient quorum queues, stream fanout and queue manager), so that
// declarations shared with Python services are equivalent and RabbitMQ
// accepts both. It is a plain value, safe for concurrent use; it declares
// nothing itself: the consumers and validate's topology check use the same
// values.
type Topology struct {
	Durable    bool // amqp_durable_queues
	AutoDelete bool // amqp_auto_delete
	HAQueues   bool // rabbit_ha_queues: x-ha-policy "all" on every queue
	Quorum     bool // rabbit_quorum_queue
	// TransientQuorum (rabbit_transient_quorum_queue) makes reply and
	// fanout queues durable quorum queues and the fanout exchange durable.
	TransientQuorum bool
	// StreamFanout (rabbit_stream_fanout) replaces the fanout queues of a
	// topic by one shared stream queue "<topic>_fanout".
	StreamFanout bool
	// QueueManager (use_queue_manager): fanout and reply queues have
	// stable names and are left to expire, never deleted.
	QueueManager bool
	// QuorumDeliveryLimit, QuorumMaxMemoryLength, QuorumMaxMemoryBytes add
	// their x- arguments to quorum queues when positive.
	QuorumDeliveryLimit   int64
	QuorumMaxMemoryLength int64
	QuorumMaxMemoryBytes  int64
	// TransientTTL is x-expires of reply and fanout queues (x-max-age of a
	// stream fanout queue); 0 omits it.
	TransientTTL time.Duration
}

// TopologyFrom derives the topology from transport options.
func TopologyFrom(o Options) Topology {
	return Topology{
		Durable:               o.DurableQueues,
		AutoDelete:            o.AutoDelete,
		HAQueues:              o.HAQueues,
		Quorum:                o.QuorumQueue,
		TransientQuorum:       o.TransientQuorumQueue,
		StreamFanout:          o.StreamFanout,
		QueueManager:          o.UseQueueManager,
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

// FanoutExchange is "<topic>_fanout": always auto-delete, durable with
// transient quorum queues or stream fanout (16.1.0's fanout_send and
// declare_fanout_consumer).
func (t Topology) FanoutExchange(topic string) ExchangeDecl {
	return ExchangeDecl{Name: topic + "_fanout", Kind: amqp.ExchangeFanout,
		Durable: t.TransientQuorum || t.StreamFanout, AutoDelete: true}
}

// SharedQueue is a topic, topic.server or notification queue: flags D/A,
// arguments x-ha-policy and the quorum ones, no x-expires.
func (t Topology) SharedQueue(name string) QueueDecl {
	args := t.haArgs()
	if t.Quorum {
		t.quorumArgs(args)
	}
	return QueueDecl{Name: name, Durable: t.durable(), AutoDelete: t.AutoDelete, Args: nilIfEmpty(args)}
}

// FanoutQueue is a server process's own "<topic>_fanout_<unique()>" queue,
// or with stream fanout the topic's one shared stream "<topic>_fanout"
// (unique is not called then, as oslo does not take a queue manager name
// for it).
func (t Topology) FanoutQueue(topic string, unique func() string) QueueDecl {
	if t.StreamFanout {
		args := amqp.Table{"x-queue-type": "stream"}
		if t.TransientTTL > 0 {
			args["x-max-age"] = strconv.FormatInt(int64(t.TransientTTL/time.Second), 10) + "s"
		}
		return QueueDecl{Name: topic + "_fanout", Durable: true, Args: args, Stream: true}
	}
	return t.transientQueue(topic + "_fanout_" + unique())
}

// ReplyQueue is a client's own "reply_<unique()>" queue.
func (t Topology) ReplyQueue(unique func() string) QueueDecl {
	return t.transientQueue("reply_" + unique())
}

// DeletesFanoutQueue reports whether a server deletes its fanout queue when
// it stops: not a shared stream, nor a queue manager's name a restarted
// process takes again (those are left to expire).
func (t Topology) DeletesFanoutQueue() bool { return !t.StreamFanout && !t.QueueManager }

// RandomName is the unique part of a transient queue name without a queue
// manager: a uuid4 in hex.
func RandomName() string { return oslo.NewID() }

func (t Topology) transientQueue(name string) QueueDecl {
	args := t.haArgs()
	if t.TransientQuorum {
		t.quorumArgs(args)
	}
	if t.TransientTTL > 0 {
		args["x-expires"] = int32(t.TransientTTL / time.Millisecond)
	}
	return QueueDecl{Name: name, Durable: t.TransientQuorum, Args: nilIfEmpty(args)}
}

func (t Topology) quorumArgs(args amqp.Table) {
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
