package listener

import (
	"github.com/oslohost/oslohost/internal/rabbit"
)

// Target is one topic to listen on, on Exchange (the listener's exchange
// when empty).
type Target struct {
	Topic    string
	Exchange string
}

// topology is what a listener declares and consumes (wire spec 7.5).
type topology struct {
	decl   rabbit.Declarations
	queues []string
}

// declarations follows NotificationAMQPListener / declare_topic_consumer:
// exchange of each target (flags D/A); without a pool one queue
// "<topic>.<priority>" per target and priority, bound with its own name;
// with a pool one queue named after the pool bound with every
// "<topic>.<priority>" key. Queues have flags D/A, arguments H + Q and no
// x-expires.
func declarations(topo rabbit.Topology, defaultExchange string, targets []Target, priorities []string, pool string) topology {
	var out topology
	exchanges := map[string]bool{}
	queues := map[string]bool{}
	addQueue := func(name string) {
		if !queues[name] {
			queues[name] = true
			out.decl.Queues = append(out.decl.Queues, topo.SharedQueue(name))
			out.queues = append(out.queues, name)
		}
	}
	bound := map[rabbit.Binding]bool{}
	for _, t := range targets {
		x := t.Exchange
		if x == "" {
			x = defaultExchange
		}
		if !exchanges[x] {
			exchanges[x] = true
			out.decl.Exchanges = append(out.decl.Exchanges, topo.ControlExchange(x))
		}
		for _, p := range priorities {
			key := t.Topic + "." + p
			q := key
			if pool != "" {
				q = pool
			}
			addQueue(q)
			b := rabbit.Binding{Queue: q, Exchange: x, Key: key}
			if !bound[b] {
				bound[b] = true
				out.decl.Bindings = append(out.decl.Bindings, b)
			}
		}
	}
	return out
}
