package rabbit

import (
	amqp "github.com/rabbitmq/amqp091-go"
)

// Plan is what one consumer declares and consumes: computed from options
// only, so that the consumer that declares it and `oslohost validate`,
// which compares it with the broker, see the same thing.
type Plan struct {
	Declare Declarations
	// Queues are consumed, in this order.
	Queues []string
	// DeleteOnStop are queues deleted when the consumer stops (a server's
	// own fanout queue).
	DeleteOnStop []string
}

// Queue returns the declaration of the named queue, or nil.
func (p Plan) Queue(name string) *QueueDecl {
	for i := range p.Declare.Queues {
		if p.Declare.Queues[i].Name == name {
			return &p.Declare.Queues[i]
		}
	}
	return nil
}

// ServerPlan is what an RPC server of topic and server on exchange declares
// and consumes, as oslo's RPC listener does: the exchange, queues topic and
// "topic.server" bound with their own names, and unless noFanout the
// "<topic>_fanout" exchange with the server's fanout queue (named with
// unique; see Topology.FanoutQueue).
func (t Topology) ServerPlan(exchange, topic, server string, noFanout bool, unique func() string) Plan {
	topicQ := t.SharedQueue(topic)
	serverQ := t.SharedQueue(topic + "." + server)
	p := Plan{
		Declare: Declarations{
			Exchanges: []ExchangeDecl{t.ControlExchange(exchange)},
			Queues:    []QueueDecl{topicQ, serverQ},
			Bindings: []Binding{
				{Queue: topicQ.Name, Exchange: exchange, Key: topic},
				{Queue: serverQ.Name, Exchange: exchange, Key: topic + "." + server},
			},
		},
		Queues: []string{topicQ.Name, serverQ.Name},
	}
	if !noFanout {
		fx, fq := t.FanoutExchange(topic), t.FanoutQueue(topic, unique)
		p.Declare.Exchanges = append(p.Declare.Exchanges, fx)
		p.Declare.Queues = append(p.Declare.Queues, fq)
		p.Declare.Bindings = append(p.Declare.Bindings, Binding{Queue: fq.Name, Exchange: fx.Name, Key: topic})
		p.Queues = append(p.Queues, fq.Name)
		if t.DeletesFanoutQueue() {
			p.DeleteOnStop = []string{fq.Name}
		}
	}
	return p
}

// NotifyTarget is one topic a notification listener consumes, on Exchange
// (the listener's default exchange when empty).
type NotifyTarget struct {
	Topic    string
	Exchange string
}

// ListenerPlan follows NotificationAMQPListener / declare_topic_consumer:
// the exchange of each target (flags D/A); without a pool one queue
// "<topic>.<priority>" per target and priority, bound with its own name;
// with a pool one queue named after the pool bound with every
// "<topic>.<priority>" key. Queues have flags D/A, arguments H + Q and no
// x-expires.
func (t Topology) ListenerPlan(defaultExchange string, targets []NotifyTarget, priorities []string, pool string) Plan {
	var out Plan
	exchanges := map[string]bool{}
	queues := map[string]bool{}
	bound := map[Binding]bool{}
	for _, tg := range targets {
		x := tg.Exchange
		if x == "" {
			x = defaultExchange
		}
		if !exchanges[x] {
			exchanges[x] = true
			out.Declare.Exchanges = append(out.Declare.Exchanges, t.ControlExchange(x))
		}
		for _, p := range priorities {
			key := tg.Topic + "." + p
			q := key
			if pool != "" {
				q = pool
			}
			if !queues[q] {
				queues[q] = true
				out.Declare.Queues = append(out.Declare.Queues, t.SharedQueue(q))
				out.Queues = append(out.Queues, q)
			}
			b := Binding{Queue: q, Exchange: x, Key: key}
			if !bound[b] {
				bound[b] = true
				out.Declare.Bindings = append(out.Declare.Bindings, b)
			}
		}
	}
	return out
}

// ConsumerArgs are the basic.consume arguments of a queue: the
// x-cancel-on-ha-failover flag with enable_cancel_on_failover. A stream
// queue's consumer gets x-stream-offset instead (oslo replaces the
// arguments), which the Consumer sets itself.
func ConsumerArgs(o Options) amqp.Table {
	if o.CancelOnFailover {
		return amqp.Table{"x-cancel-on-ha-failover": true}
	}
	return nil
}
