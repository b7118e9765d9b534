package rabbit

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publishing errors.
var (
	// ErrNacked: the broker refused the message (publisher confirm nack).
	ErrNacked = errors.New("rabbit: broker nacked the publish")

	errChannelClosed = errors.New("rabbit: channel closed before the confirm")
)

// ReturnedError is a mandatory publish the broker could not route (no queue
// bound for its routing key): the message was not delivered.
type ReturnedError struct {
	Exchange, Key string
	Code          uint16
	Text          string
}

func (e *ReturnedError) Error() string {
	return fmt.Sprintf("rabbit: message to exchange %q key %q returned: %d %s", e.Exchange, e.Key, e.Code, e.Text)
}

// Message is one publish. Properties are those oslo.messaging sets on every
// message (application/json, utf-8, persistent, priority 0, empty headers).
type Message struct {
	Exchange, Key string
	Body          []byte
	// Mandatory asks the broker to return the message when it cannot be
	// routed; Publish then fails with *ReturnedError.
	Mandatory bool
	// Expiration is the per-message TTL in milliseconds ("" for none).
	Expiration string
	// Headers replaces the empty header table (compression).
	Headers amqp.Table
	// Exchange to declare before publishing (skipped when Name is empty);
	// declarations are remembered per connection.
	Declare ExchangeDecl
	// Retries is how many times a publish that failed because the
	// connection broke is tried again: <0 forever (until ctx ends), 0 never.
	Retries int
}

// noHeaders is the empty header table of messages without headers, shared
// (the client library only reads it): not a new map per publish.
var noHeaders = amqp.Table{}

// publishing is the AMQP message of m.
func (m *Message) publishing() amqp.Publishing {
	headers := m.Headers
	if headers == nil {
		headers = noHeaders
	}
	return amqp.Publishing{
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		Headers:         headers,
		Expiration:      m.Expiration,
		Body:            m.Body,
	}
}

// Publish sends m on a confirm-mode channel and waits for the broker's
// confirm. Messages to the default exchange (replies, which the broker
// cannot refuse for a missing exchange) share one channel, published back
// to back; others take a channel of their own while they wait. Safe for
// concurrent use.
func (c *Conn) Publish(ctx context.Context, m Message) error {
	for attempt := 0; ; attempt++ {
		err := c.pub.publish(ctx, m)
		if err == nil || !retriable(err) || ctx.Err() != nil {
			return err
		}
		if m.Retries >= 0 && attempt >= m.Retries {
			return fmt.Errorf("publish to %q after %d tries: %w", m.Exchange+"/"+m.Key, attempt+1, err)
		}
		c.log.Debug("publish failed, retrying", "exchange", m.Exchange, "key", m.Key, "error", err)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-c.done:
			return ErrClosed
		case <-time.After(jitter(50 * time.Millisecond)):
		}
	}
}

// retriable reports errors caused by a broken channel or connection.
func retriable(err error) bool {
	var ret *ReturnedError
	if errors.As(err, &ret) || errors.Is(err, ErrNacked) || errors.Is(err, ErrClosed) {
		return false
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		// Refusals by the broker (404 no exchange, 406, 403) will not heal;
		// a closed channel or connection will, after the reconnect.
		return !ae.Server || ae.Code == amqp.ConnectionForced
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// pubChannel is a confirm-mode channel used by one publisher at a time, so
// that a basic.return (which RabbitMQ sends before the confirm of the same
// message) is known to belong to the publish being confirmed.
type pubChannel struct {
	ch       *amqp.Channel
	gen      uint64
	returns  chan amqp.Return
	declared map[string]bool
}

type publisherPool struct {
	c    *Conn
	pipe *pipeline // for the default exchange
	free chan *pubChannel
	sem  chan struct{} // bounds open channels
}

func newPublisherPool(c *Conn, size int) *publisherPool {
	return &publisherPool{c: c, pipe: newPipeline(c), free: make(chan *pubChannel, size), sem: make(chan struct{}, size)}
}

func (p *publisherPool) get(ctx context.Context) (*pubChannel, error) {
	for {
		// A free channel is preferred to opening one: first without
		// blocking, then waiting for whichever comes first.
		var pc *pubChannel
		select {
		case pc = <-p.free:
		default:
			select {
			case pc = <-p.free:
			case p.sem <- struct{}{}:
				pc, err := p.open(ctx)
				if err != nil {
					<-p.sem
					return nil, err
				}
				return pc, nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		if !pc.ch.IsClosed() {
			return pc, nil
		}
		<-p.sem
	}
}

func (p *publisherPool) open(ctx context.Context) (*pubChannel, error) {
	ch, gen, err := p.c.confirmChannel(ctx)
	if err != nil {
		return nil, err
	}
	return &pubChannel{ch: ch, gen: gen, returns: ch.NotifyReturn(make(chan amqp.Return, 1)), declared: map[string]bool{}}, nil
}

// confirmChannel opens a channel in confirm mode, waiting for a connection.
func (c *Conn) confirmChannel(ctx context.Context) (*amqp.Channel, uint64, error) {
	ch, gen, err := c.Channel(ctx)
	if err != nil {
		return nil, 0, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, 0, fmt.Errorf("confirm mode: %w", err)
	}
	return ch, gen, nil
}

// put gives a healthy channel back; a broken one is closed in the
// background: channel.close waits for the broker's close-ok, which on a
// stalled path comes only when the connection dies, and the publisher
// must not wait for that past its context.
func (p *publisherPool) put(pc *pubChannel, healthy bool) {
	if healthy && !pc.ch.IsClosed() {
		select {
		case p.free <- pc:
			return
		default:
		}
	}
	go func() {
		_ = pc.ch.Close()
		<-p.sem
	}()
}

// publish sends m on the shared pipe when its exchange needs no
// declaration or was declared already (by a pooled channel, the first
// time: a refused declaration closes the channel it is made on, and the
// pipe's must not be that one).
func (p *publisherPool) publish(ctx context.Context, m Message) error {
	if (m.Exchange == "" && m.Declare.Name == "") || (m.Declare.Name != "" && p.pipe.hasDeclared(m.Declare.Name)) {
		return p.pipe.publish(ctx, m)
	}
	err := p.publishPooled(ctx, m)
	var ret *ReturnedError
	if m.Declare.Name != "" && (err == nil || errors.As(err, &ret)) {
		p.pipe.markDeclared(ctx, m.Declare.Name)
	}
	return err
}

func (p *publisherPool) publishPooled(ctx context.Context, m Message) error {
	pc, err := p.get(ctx)
	if err != nil {
		return err
	}
	if m.Declare.Name != "" && !pc.declared[m.Declare.Name] {
		decl := Declarations{Exchanges: []ExchangeDecl{m.Declare}}
		ch, err := p.c.declare(ctx, pc.ch, &decl)
		if err != nil {
			if ch != nil && ch != pc.ch {
				_ = ch.Close()
			}
			p.put(pc, false)
			return err
		}
		if ch != pc.ch { // the channel was replaced after a 406
			_ = pc.ch.Close()
			pc.ch, pc.returns = ch, ch.NotifyReturn(make(chan amqp.Return, 1))
			if err := ch.Confirm(false); err != nil {
				p.put(pc, false)
				return err
			}
		}
		pc.declared[m.Declare.Name] = true
	}
	dc, err := pc.ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.Key, m.Mandatory, false, m.publishing())
	if err != nil {
		p.put(pc, false)
		return fmt.Errorf("publish: %w", err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		// Unknown outcome on this channel: do not reuse it.
		p.put(pc, false)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("publish confirm: %w", err)
	}
	if !ok {
		if pc.ch.IsClosed() { // confirms are failed when the channel dies
			p.put(pc, false)
			return errChannelClosed
		}
		p.put(pc, false) // it may go on nacking (see pipeline.publish)
		return ErrNacked
	}
	select {
	case r := <-pc.returns:
		p.put(pc, true)
		return &ReturnedError{Exchange: r.Exchange, Key: r.RoutingKey, Code: r.ReplyCode, Text: r.ReplyText}
	default:
	}
	p.put(pc, true)
	return nil
}
