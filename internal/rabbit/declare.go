package rabbit

import (
	"context"
	"errors"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Declarations are the exchanges, queues and bindings a consumer or
// publisher needs, declared in that order.
type Declarations struct {
	Exchanges []ExchangeDecl
	Queues    []QueueDecl
	Bindings  []Binding
}

// declare declares everything in d on ch. When RabbitMQ refuses a
// declaration with 406 PRECONDITION_FAILED "inequivalent arg 'durable'"
// (the object exists with the other durable flag: a fleet configured
// differently, or a newer oslo.messaging), it retries with the other flag on
// a fresh channel, as oslo.messaging does from 14.1.0, and keeps the flag
// that worked in d so that redeclarations after a reconnect use it. It
// returns the channel to go on with (ch, or its replacement).
func (c *Conn) declare(ctx context.Context, ch *amqp.Channel, d *Declarations) (*amqp.Channel, error) {
	return c.declareBounded(ctx, ch, d, nil)
}

// declareBounded is declare with each method and reopened channel run by
// s (bounded; see setup), or directly when s is nil.
func (c *Conn) declareBounded(ctx context.Context, ch *amqp.Channel, d *Declarations, s *setup) (*amqp.Channel, error) {
	do := func(step string, f func() error) error {
		if s == nil {
			return f()
		}
		return s.do(step, s.conn, ch, f)
	}
	reopen := func() (*amqp.Channel, error) {
		if s == nil {
			return c.reopen(ctx)
		}
		return s.channel()
	}
	// declareFlip runs one declaration; on a durable mismatch it flips
	// *durable and runs it again on a fresh channel.
	declareFlip := func(kind, name string, durable *bool, f func() error) error {
		err := do(kind+".declare", f)
		if isDurableMismatch(err) {
			c.log.Warn(kind+" exists with the other durable flag; using it", kind, name, "durable", !*durable)
			if ch, err = reopen(); err != nil {
				return err // the channel, not the declaration
			}
			*durable = !*durable
			err = do(kind+".declare", f)
		}
		if err != nil {
			return declareError(kind, name, err)
		}
		return nil
	}
	for i := range d.Exchanges {
		x := &d.Exchanges[i]
		if err := declareFlip("exchange", x.Name, &x.Durable, func() error {
			return ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, false, false, nil)
		}); err != nil {
			return ch, err
		}
	}
	for i := range d.Queues {
		q := &d.Queues[i]
		if err := declareFlip("queue", q.Name, &q.Durable, func() error {
			_, err := ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, q.Args)
			return err
		}); err != nil {
			return ch, err
		}
	}
	for _, b := range d.Bindings {
		if err := do("queue.bind", func() error { return ch.QueueBind(b.Queue, b.Key, b.Exchange, false, nil) }); err != nil {
			return ch, declareError("binding of queue "+b.Queue+" to", b.Exchange, err)
		}
	}
	return ch, nil
}

func (c *Conn) reopen(ctx context.Context) (*amqp.Channel, error) {
	ch, _, err := c.Channel(ctx)
	return ch, err
}

func isDurableMismatch(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed && strings.Contains(ae.Reason, "inequivalent arg 'durable'")
}

// DeclareError is a declaration the broker refused.
type DeclareError struct {
	Kind, Name string
	Err        error
}

func (e *DeclareError) Error() string {
	return "declare " + e.Kind + " " + quote(e.Name) + ": " + e.Err.Error()
}
func (e *DeclareError) Unwrap() error { return e.Err }

func declareError(kind, name string, err error) error {
	return &DeclareError{Kind: kind, Name: name, Err: err}
}

func quote(s string) string { return `"` + s + `"` }
