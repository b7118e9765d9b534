package intake

import (
	"context"

	"github.com/oslohost/oslohost/internal/rabbit"
)

// Source gives deliveries: the broker (Rabbit) or, in tests, Memory.
type Source interface {
	// Consume starts consuming what spec names and returns at once; each
	// delivery goes to h, one at a time per queue, in delivery order, and
	// h owns its ack, nack or reject.
	Consume(spec rabbit.ConsumeSpec, h rabbit.Handler) Consumer
}

// Consumer is a running consumption, as rabbit.Consumer is. Safe for
// concurrent use; Stop is idempotent.
type Consumer interface {
	// WaitReady waits until the consumer is consuming (nil), failed for
	// good, or ctx ends (then it stops the consumer).
	WaitReady(ctx context.Context) error
	// Stop cancels the consumption (deliveries not yet handed to the
	// handler go back to their queue) and waits until running handler
	// calls return or ctx ends.
	Stop(ctx context.Context) error
	// Done is closed when the consumer has stopped for good.
	Done() <-chan struct{}
	// State is what the consumer is doing now (starting, consuming,
	// reconnecting, failed, stopped), since when and why.
	State() rabbit.ConsumerState
}

var (
	_ Source   = Rabbit{}
	_ Consumer = (*rabbit.Consumer)(nil)
)

// Rabbit is the broker as a Source: a reconnecting rabbit.Consumer on
// Conn, with the consumer arguments of Options (x-cancel-on-ha-failover,
// so that a mirrored queue's failover cancels the consumer, which then
// consumes again).
type Rabbit struct {
	Conn    *rabbit.Conn
	Options rabbit.Options
}

// Consume starts a rabbit.Consumer.
func (r Rabbit) Consume(spec rabbit.ConsumeSpec, h rabbit.Handler) Consumer {
	spec.Args = rabbit.ConsumerArgs(r.Options)
	return r.Conn.Consume(spec, h)
}
