package host

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/listener"
	"github.com/oslohost/oslohost/oslo"
)

// Topology is every exchange, queue, binding and consumer a configuration
// declares, computed by the same code the servers and listeners declare
// with (transportx.ServerPlan, ListenerPlan), with the blocks that declare
// each.
type Topology struct {
	Exchanges []*TopologyExchange `json:"exchanges"`
	Queues    []*TopologyQueue    `json:"queues"`
	Bindings  []TopologyBinding   `json:"bindings"`
}

// TopologyExchange is one exchange declaration.
type TopologyExchange struct {
	rabbit.ExchangeDecl
	DeclaredBy []string        `json:"declared_by"`
	Broker     *rabbit.Finding `json:"broker,omitempty"`
	rng        hcl.Range
}

// TopologyQueue is one queue declaration and who consumes it.
type TopologyQueue struct {
	Name       string         `json:"name"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments,omitempty"`
	// PerProcess marks a queue whose name is made for each process (a
	// server's fanout queue: a uuid, or the queue manager's counter); its
	// name here ends in "<unique>" and the broker is not asked about it.
	PerProcess bool `json:"per_process,omitempty"`
	// ConsumedBy are the blocks consuming it; more than one is a clash.
	ConsumedBy []string `json:"consumed_by"`
	// ConsumerArguments are the basic.consume arguments its consumers
	// use (x-cancel-on-ha-failover; x-stream-offset for a stream, from
	// "last" on the first start).
	ConsumerArguments map[string]any  `json:"consumer_arguments,omitempty"`
	Broker            *rabbit.Finding `json:"broker,omitempty"`
	decl              rabbit.QueueDecl
	rng               hcl.Range
}

// TopologyBinding binds a queue to an exchange.
type TopologyBinding struct {
	rabbit.Binding
	DeclaredBy string `json:"declared_by"`
}

// uniquePlaceholder stands for the per-process part of a fanout queue name.
const uniquePlaceholder = "<unique>"

// PlanTopology computes what cfg declares and reports clashes inside it:
// two blocks consuming one queue (they would share its messages, each
// getting what the other expects), and one exchange or queue declared with
// different properties by two blocks. Diagnostics point at the second
// block, naming the first.
func PlanTopology(cfg *config.Config) (*Topology, hcl.Diagnostics) {
	u, err := transportURL(cfg.Transport)
	if err != nil {
		r := transportRange(cfg.Transport, err)
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid transport", Detail: err.Error(), Subject: &r}}
	}
	top := &Topology{}
	var diags hcl.Diagnostics
	exchanges := map[string]*TopologyExchange{}
	queues := map[string]*TopologyQueue{}
	unique := func() string { return uniquePlaceholder }
	var consumerArgs map[string]any
	if a := rabbit.ConsumerArgs(u.Options); a != nil {
		consumerArgs = a
	}

	add := func(owner string, rng hcl.Range, p rabbit.Plan) {
		for _, x := range p.Declare.Exchanges {
			if first, ok := exchanges[x.Name]; ok {
				if first.ExchangeDecl != x {
					diags = append(diags, clash(rng, "Conflicting exchange declarations", fmt.Sprintf(
						"%s declares exchange %q as %s, but %s (%s) declares it as %s: RabbitMQ refuses the second with 406 PRECONDITION_FAILED.",
						owner, x.Name, describeExchange(x), first.DeclaredBy[0], first.rng, describeExchange(first.ExchangeDecl))))
				}
				if !contains(first.DeclaredBy, owner) {
					first.DeclaredBy = append(first.DeclaredBy, owner)
				}
				continue
			}
			e := &TopologyExchange{ExchangeDecl: x, DeclaredBy: []string{owner}, rng: rng}
			exchanges[x.Name] = e
			top.Exchanges = append(top.Exchanges, e)
		}
		consumed := map[string]bool{}
		shared := map[string][]string{} // first consumer -> queues shared with it
		sharedAt := map[string]hcl.Range{}
		var sharedWith []string
		for _, q := range p.Queues {
			consumed[q] = true
		}
		for _, q := range p.Declare.Queues {
			tq := &TopologyQueue{Name: q.Name, Durable: q.Durable, AutoDelete: q.AutoDelete, Arguments: q.Args,
				PerProcess: strings.Contains(q.Name, uniquePlaceholder), decl: q, rng: rng}
			if first, ok := queues[q.Name]; ok {
				if !sameQueue(first.decl, q) {
					diags = append(diags, clash(rng, "Conflicting queue declarations", fmt.Sprintf(
						"%s declares queue %q as %s, but %s (%s) declares it as %s: RabbitMQ refuses the second with 406 PRECONDITION_FAILED.",
						owner, q.Name, describeQueue(q), first.ConsumedBy[0], first.rng, describeQueue(first.decl))))
				}
				tq = first
			} else {
				queues[q.Name] = tq
				top.Queues = append(top.Queues, tq)
			}
			if !consumed[q.Name] {
				continue
			}
			if len(tq.ConsumedBy) > 0 && !tq.PerProcess {
				first := tq.ConsumedBy[0]
				if _, seen := shared[first]; !seen {
					sharedWith = append(sharedWith, first)
					sharedAt[first] = tq.rng
				}
				shared[first] = append(shared[first], q.Name)
			}
			tq.ConsumedBy = append(tq.ConsumedBy, owner)
			tq.ConsumerArguments = consumerArgs
			if q.Stream {
				tq.ConsumerArguments = map[string]any{"x-stream-offset": "last"}
			}
		}
		for _, first := range sharedWith {
			names := shared[first]
			what := fmt.Sprintf("queue %q", names[0])
			if len(names) > 1 {
				what = fmt.Sprintf("queues %q", names)
			}
			diags = append(diags, clash(rng, "Two blocks consume one queue", fmt.Sprintf(
				"%s consumes %s, which %s (%s) consumes too: RabbitMQ hands each message to one of them, so each gets messages meant for the other. Give one of them another topic or pool.",
				owner, what, first, sharedAt[first])))
		}
		for _, b := range p.Declare.Bindings {
			top.Bindings = append(top.Bindings, TopologyBinding{Binding: b, DeclaredBy: owner})
		}
	}

	for _, s := range cfg.Servers {
		p := transportx.ServerPlan(u.Options, s.Exchange, oslo.Target{Topic: s.Topic, Server: s.Server}, !s.Fanout, unique)
		add(fmt.Sprintf("server %q", s.Name), s.AttrRange("topic"), p)
	}
	for _, l := range cfg.Listeners {
		var targets []listener.Target
		for _, t := range l.Topics {
			targets = append(targets, listener.Target{Topic: t, Exchange: l.Exchange})
		}
		p, err := transportx.ListenerPlan(u.Options, cfg.Transport.ControlExchange, targets, l.Priorities, l.Pool)
		if err != nil {
			r := l.AttrRange("priorities")
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid listener", Detail: err.Error(), Subject: &r})
			continue
		}
		rng := l.AttrRange("topics")
		if l.Pool != "" {
			rng = l.AttrRange("pool")
		}
		add(fmt.Sprintf("listener %q", l.Name), rng, p)
	}
	return top, diags
}

func clash(rng hcl.Range, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}
}

func sameQueue(a, b rabbit.QueueDecl) bool {
	return a.Durable == b.Durable && a.AutoDelete == b.AutoDelete && fmt.Sprint(sortedArgs(a.Args)) == fmt.Sprint(sortedArgs(b.Args))
}

func sortedArgs(args map[string]any) []string {
	var out []string
	for k, v := range args {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(out)
	return out
}

func describeExchange(x rabbit.ExchangeDecl) string {
	return fmt.Sprintf("%s, durable=%v, auto_delete=%v", x.Kind, x.Durable, x.AutoDelete)
}

func describeQueue(q rabbit.QueueDecl) string {
	s := fmt.Sprintf("durable=%v, auto_delete=%v", q.Durable, q.AutoDelete)
	if len(q.Args) > 0 {
		s += ", arguments " + strings.Join(sortedArgs(q.Args), " ")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CompareTopology asks the broker of cfg's transport about every exchange
// and queue of top, passively (rabbit.Conn.InspectExchange and
// InspectQueue: nothing is ever created), fills in their Broker findings
// and returns a diagnostic for each declaration that would get a 406
// (error) and each queue the config consumes that other processes consume
// already (warning: they would share its messages).
func CompareTopology(ctx context.Context, cfg *config.Config, top *Topology, log hclog.Logger) hcl.Diagnostics {
	u, err := transportURL(cfg.Transport)
	if err != nil {
		r := cfg.Transport.AttrRange("url")
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid transport", Detail: err.Error(), Subject: &r}}
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(dctx, rabbit.Config{URL: u, Name: "validate", Logger: log.Named("rabbit")})
	if err != nil {
		r := cfg.Transport.AttrRange("url")
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Broker unreachable",
			Detail: fmt.Sprintf("Cannot compare the topology with the broker: %v.", err), Subject: &r}}
	}
	defer conn.Close()
	var diags hcl.Diagnostics
	for _, x := range top.Exchanges {
		f, err := conn.InspectExchange(ctx, x.ExchangeDecl)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Broker check failed", Detail: err.Error(), Subject: x.rng.Ptr()})
			continue
		}
		x.Broker = &f
		if f.DurableFallback {
			diags = append(diags, fallbackWarning("exchange", x.Name, x.DeclaredBy[0], x.Durable, x.rng))
		}
		if f.State == rabbit.StateConflict {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Exchange conflicts with the broker",
				Detail: fmt.Sprintf("%s declares exchange %q as %s; the broker's differs and would refuse it: %s.",
					x.DeclaredBy[0], x.Name, describeExchange(x.ExchangeDecl), f.Reason), Subject: x.rng.Ptr()})
		}
	}
	for _, q := range top.Queues {
		if q.PerProcess {
			continue
		}
		f, err := conn.InspectQueue(ctx, q.decl)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Broker check failed", Detail: err.Error(), Subject: q.rng.Ptr()})
			continue
		}
		q.Broker = &f
		owner := "this configuration"
		if len(q.ConsumedBy) > 0 {
			owner = q.ConsumedBy[0]
		}
		if f.DurableFallback {
			diags = append(diags, fallbackWarning("queue", q.Name, owner, q.Durable, q.rng))
		}
		switch {
		case f.State == rabbit.StateConflict:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Queue conflicts with the broker",
				Detail: fmt.Sprintf("%s declares queue %q as %s; the broker's differs and would refuse it: %s.",
					owner, q.Name, describeQueue(q.decl), f.Reason), Subject: q.rng.Ptr()})
		case f.Consumers > 0 && len(q.ConsumedBy) > 0:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Queue already consumed",
				Detail: fmt.Sprintf("Queue %q, which %s consumes, has %d consumer(s) on the broker already (other servers or listeners of the fleet): its messages will be shared with them.",
					q.Name, owner, f.Consumers), Subject: q.rng.Ptr()})
		}
	}
	return diags
}

func fallbackWarning(kind, name, owner string, durable bool, rng hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Durable flag differs from the broker's",
		Detail: fmt.Sprintf("%s declares %s %q with durable=%v; the broker's is durable=%v and otherwise equivalent, so it will be declared with the broker's flag (as oslo.messaging does from 14.1.0).",
			owner, kind, name, durable, !durable), Subject: rng.Ptr()}
}
