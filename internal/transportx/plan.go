package transportx

import (
	"fmt"
	"strings"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// ServerPlan is what an RPC server of target t declares and consumes on a
// transport with options o: the code server.Start and the host's topology
// check share. An empty exchange is oslo.DefaultControlExchange; unique
// names the fanout queue.
func ServerPlan(o rabbit.Options, exchange string, t oslo.Target, noFanout bool, unique func() string) rabbit.Plan {
	if exchange == "" {
		exchange = oslo.DefaultControlExchange
	}
	return rabbit.TopologyFrom(o).ServerPlan(t.ExchangeOr(exchange), t.Topic, t.Server, noFanout, unique)
}

// ListenerPlan is what a notification listener declares and consumes on a
// transport with options o, for the host's topology check, computed as
// listener.New computes it (NormalizePriorities, then the topology's
// ListenerPlan). An empty exchange is oslo.DefaultControlExchange.
func ListenerPlan(o rabbit.Options, exchange string, targets []rabbit.NotifyTarget, priorities []string, pool string) (rabbit.Plan, error) {
	prios, err := NormalizePriorities(priorities)
	if err != nil {
		return rabbit.Plan{}, err
	}
	if exchange == "" {
		exchange = oslo.DefaultControlExchange
	}
	return rabbit.TopologyFrom(o).ListenerPlan(exchange, targets, prios, pool), nil
}

// NormalizePriorities lower-cases a listener's priorities; all seven when
// none.
func NormalizePriorities(in []string) ([]string, error) {
	if len(in) == 0 {
		return oslo.Priorities(), nil
	}
	out := make([]string, len(in))
	for i, p := range in {
		lp, ok := oslo.NormalizePriority(p)
		if !ok {
			return nil, fmt.Errorf("listener: unknown priority %q (want one of %s)", p, strings.Join(oslo.Priorities(), ", "))
		}
		out[i] = lp
	}
	return out, nil
}
