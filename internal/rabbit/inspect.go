package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Broker states of a declaration (Finding.State).
const (
	// StateAbsent: the broker has no such object; deploying creates it.
	StateAbsent = "absent"
	// StateEquivalent: the object exists and the declaration matches it.
	StateEquivalent = "equivalent"
	// StateConflict: the object exists with other properties; the
	// declaration would get 406 PRECONDITION_FAILED (Reason).
	StateConflict = "conflict"
)

// Finding is what the broker holds for one exchange or queue declaration.
type Finding struct {
	State string `json:"state"`
	// Reason is the broker's own text for a conflict.
	Reason string `json:"reason,omitempty"`
	// Messages and Consumers are the queue's counts when it exists.
	Messages  int `json:"messages"`
	Consumers int `json:"consumers"`
	// DurableFallback: the object exists with the other durable flag and
	// is otherwise equivalent, so declaring it falls back to that flag
	// (Conn.declare, as oslo from 14.1.0) instead of failing.
	DurableFallback bool `json:"durable_fallback,omitempty"`
}

// The probe arguments make a declaration fail whenever it would create the
// object, while an existing object is compared as a real declaration
// would compare it. RabbitMQ (3.10 checked) compares an existing queue's
// durable, auto_delete and arguments before anything else and refuses a
// new queue's arguments its type does not support (or of the wrong type)
// before creating it; x-stream-max-segment-size-bytes as a string is
// refused by every queue type, and is compared only on a stream, after
// x-queue-type and x-max-age. For an exchange, an alternate-exchange
// that is not a string is refused before creation and compared after
// type, durable, auto_delete and internal. So a probe either reports
// the existing object's first difference, or reports only its own
// argument (equivalent), or is refused as invalid (absent): it never
// creates anything, and needs no management plugin.
const (
	queueProbeArg    = "x-stream-max-segment-size-bytes"
	exchangeProbeArg = "alternate-exchange"
)

// InspectQueue compares q with the broker: a passive declare for its
// counts, then the probe declare above, each on a throwaway channel (and
// with the other durable flag when only that differs, which the declaring
// code falls back to).
func (c *Conn) InspectQueue(ctx context.Context, q QueueDecl) (Finding, error) {
	ch, _, err := c.Channel(ctx)
	if err != nil {
		return Finding{}, err
	}
	st, err := ch.QueueDeclarePassive(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, nil)
	if isNotFound(err) {
		return Finding{State: StateAbsent}, nil
	}
	if err != nil {
		return Finding{}, fmt.Errorf("passive declare of queue %q: %w", q.Name, err)
	}
	_ = ch.Close()
	f := Finding{Messages: st.Messages, Consumers: st.Consumers}
	args := amqp.Table{queueProbeArg: "oslohost-probe"}
	for k, v := range q.Args {
		args[k] = v
	}
	probe := func(durable bool) (Finding, error) {
		ch, _, err := c.Channel(ctx)
		if err != nil {
			return Finding{}, err
		}
		_, err = ch.QueueDeclare(q.Name, durable, q.AutoDelete, false, false, args)
		if err == nil {
			_ = ch.Close()
		}
		return classify(f, err, queueProbeArg, "queue", q.Name)
	}
	return withDurableFallback(q.Durable, probe)
}

// withDurableFallback runs probe with the declaration's durable flag and,
// when only that differs, again with the other one, as Conn.declare does.
func withDurableFallback(durable bool, probe func(durable bool) (Finding, error)) (Finding, error) {
	f, err := probe(durable)
	if err != nil || f.State != StateConflict || !strings.Contains(f.Reason, "inequivalent arg 'durable'") {
		return f, err
	}
	g, err := probe(!durable)
	if err != nil {
		return f, err
	}
	if g.State == StateEquivalent {
		g.DurableFallback = true
	}
	return g, nil
}

// InspectExchange compares x with the broker the same way.
func (c *Conn) InspectExchange(ctx context.Context, x ExchangeDecl) (Finding, error) {
	return withDurableFallback(x.Durable, func(durable bool) (Finding, error) {
		ch, _, err := c.Channel(ctx)
		if err != nil {
			return Finding{}, err
		}
		err = ch.ExchangeDeclare(x.Name, x.Kind, durable, x.AutoDelete, false, false, amqp.Table{exchangeProbeArg: int64(0)})
		if err == nil {
			_ = ch.Close()
		}
		return classify(Finding{}, err, exchangeProbeArg, "exchange", x.Name)
	})
}

func classify(f Finding, err error, probeArg, kind, name string) (Finding, error) {
	var ae *amqp.Error
	switch {
	case err == nil:
		f.State = StateEquivalent
	case errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed:
		switch {
		case strings.Contains(ae.Reason, "inequivalent arg '"+probeArg+"'"):
			f.State = StateEquivalent
		case strings.Contains(ae.Reason, "invalid arg '"+probeArg+"'"), strings.Contains(ae.Reason, "invalid type") && strings.Contains(ae.Reason, "'"+probeArg+"'"):
			f.State = StateAbsent // gone since the passive declare, or never there
		default:
			f.State, f.Reason = StateConflict, ae.Reason
		}
	default:
		return f, fmt.Errorf("inspect %s %q: %w", kind, name, err)
	}
	return f, nil
}

func isNotFound(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.NotFound
}
