package listener

import (
	"github.com/oslohost/oslohost/internal/rabbit"
)

// Target is one topic to listen on, on Exchange (the listener's exchange
// when empty).
type Target = rabbit.NotifyTarget

// topology is what a listener declares and consumes (wire spec 7.5).
type topology struct {
	decl   rabbit.Declarations
	queues []string
}

// declarations is rabbit.Topology.ListenerPlan (NotificationAMQPListener /
// declare_topic_consumer), the same computation validate's topology check
// uses.
func declarations(topo rabbit.Topology, defaultExchange string, targets []Target, priorities []string, pool string) topology {
	p := topo.ListenerPlan(defaultExchange, targets, priorities, pool)
	return topology{decl: p.Declare, queues: p.Queues}
}
