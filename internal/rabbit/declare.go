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
	for i := range d.Exchanges {
		x := &d.Exchanges[i]
		err := ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, false, false, nil)
		if isDurableMismatch(err) {
			c.log.Warn("exchange exists with the other durable flag; using it", "exchange", x.Name, "durable", !x.Durable)
			if ch, err = c.reopen(ctx); err != nil {
				return nil, err
			}
			x.Durable = !x.Durable
			err = ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, false, false, nil)
		}
		if err != nil {
			return ch, declareError("exchange", x.Name, err)
		}
	}
	for i := range d.Queues {
		q := &d.Queues[i]
		_, err := ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, q.Args)
		if isDurableMismatch(err) {
			c.log.Warn("queue exists with the other durable flag; using it", "queue", q.Name, "durable", !q.Durable)
			if ch, err = c.reopen(ctx); err != nil {
				return nil, err
			}
			q.Durable = !q.Durable
			_, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, q.Args)
		}
		if err != nil {
			return ch, declareError("queue", q.Name, err)
		}
	}
	for _, b := range d.Bindings {
		if err := ch.QueueBind(b.Queue, b.Key, b.Exchange, false, nil); err != nil {
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
