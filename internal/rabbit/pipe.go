package rabbit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// pipe is one confirm-mode channel that any number of goroutines publish on
// at once: each publish goes out at once, without waiting for the confirms
// of those before it, and then waits for its own. Compared with a channel
// per publish in flight this spares the broker a channel process hop and a
// confirm frame per message (RabbitMQ confirms several at once), which made
// a whole host call ~15 % cheaper on a 2-core machine.
//
// A basic.return carries no delivery tag, so the publish it belongs to is
// found by its exchange, routing key and body among those in flight (the
// earliest, if several are alike: the broker returns a channel's messages
// in the order they were published). RabbitMQ sends the return before the
// confirm of the same message, and the client library hands it to the
// returns channel before it resolves that confirm; so once a publish is
// confirmed, its return, if any, is in that channel or already matched, and
// reading the channel dry (under mu) before looking settles it.
type pipe struct {
	ch      *amqp.Channel
	returns chan amqp.Return // read only with mu held
	wire    *wire            // the channel's socket: publishes queued together are written together

	// declared are the exchanges known to exist while this channel lives
	// (declared by a pooled channel); publishes to them take the pipe. A
	// publish to an exchange deleted since closes the channel (404), and
	// the next pipe declares again.
	declared sync.Map // exchange name → struct{}

	pubMu sync.Mutex // orders publishes as their sequence numbers
	seq   uint64

	mu       sync.Mutex
	inFlight map[*pipeWaiter]struct{}

	// users are the publishes using the pipe now; once it is retired (a
	// nack), the last of them closes its channel.
	users     atomic.Int64
	retired   atomic.Bool
	closeOnce sync.Once
}

type pipeWaiter struct {
	seq           uint64 // publish order on the channel
	exchange, key string
	body          []byte
	returned      *amqp.Return
}

// pipeReturnBuffer is how many returns may wait for the publish that gets
// them: the client library drops a return it cannot hand over in 5 s.
const pipeReturnBuffer = 1024

func newPipe(ch *amqp.Channel, w *wire) *pipe {
	return &pipe{
		ch:       ch,
		wire:     w,
		returns:  ch.NotifyReturn(make(chan amqp.Return, pipeReturnBuffer)),
		inFlight: map[*pipeWaiter]struct{}{},
	}
}

func (p *pipe) publish(ctx context.Context, m Message) error {
	// Held from before queueing for pubMu until after the publish: the
	// last of the publishers queued together writes them all at once.
	p.wire.hold()
	released := false
	release := func() {
		if !released {
			released = true
			p.wire.release()
		}
	}
	defer release()
	p.pubMu.Lock()
	p.seq++
	// Only a mandatory publish can come back: the others need no waiter.
	var w *pipeWaiter
	if m.Mandatory {
		w = &pipeWaiter{seq: p.seq, exchange: m.Exchange, key: m.Key, body: m.Body}
		p.mu.Lock()
		p.inFlight[w] = struct{}{}
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			delete(p.inFlight, w)
			p.mu.Unlock()
		}()
	}
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, m.Exchange, m.Key, m.Mandatory, false, m.publishing())
	p.pubMu.Unlock()
	release()
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	var ret *amqp.Return
	if w != nil {
		p.mu.Lock()
		p.matchReturnsLocked()
		ret = w.returned
		p.mu.Unlock()
	}
	if !dc.Acked() {
		if p.ch.IsClosed() { // confirms are failed when the channel dies
			return errChannelClosed
		}
		return ErrNacked
	}
	if ret != nil {
		return &ReturnedError{Exchange: ret.Exchange, Key: ret.RoutingKey, Code: ret.ReplyCode, Text: ret.ReplyText}
	}
	return nil
}

// matchReturnsLocked reads the returns received so far and marks the
// publishes they belong to; returns of publishes no longer waiting are
// dropped.
func (p *pipe) matchReturnsLocked() {
	for {
		select {
		case r, ok := <-p.returns:
			if !ok {
				return
			}
			var first *pipeWaiter
			for w := range p.inFlight {
				if w.returned == nil && w.exchange == r.Exchange && w.key == r.RoutingKey && bytes.Equal(w.body, r.Body) &&
					(first == nil || w.seq < first.seq) {
					first = w
				}
			}
			if first != nil {
				first.returned = &r
			}
		default:
			return
		}
	}
}

// pipeline holds the current pipe of a Conn and opens a new one when it
// broke.
type pipeline struct {
	c    *Conn
	cur  atomic.Pointer[pipe]
	open chan struct{} // a one-slot lock for opening, that respects ctx
}

func newPipeline(c *Conn) *pipeline {
	return &pipeline{c: c, open: make(chan struct{}, 1)}
}

func (pl *pipeline) get(ctx context.Context) (*pipe, error) {
	if p := pl.cur.Load(); p != nil && !p.ch.IsClosed() {
		return p, nil
	}
	select {
	case pl.open <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-pl.open }()
	if p := pl.cur.Load(); p != nil && !p.ch.IsClosed() {
		return p, nil
	}
	ch, _, err := pl.c.confirmChannel(ctx)
	if err != nil {
		return nil, err
	}
	p := newPipe(ch, pl.c.currentWire())
	pl.cur.Store(p)
	return p, nil
}

func (pl *pipeline) publish(ctx context.Context, m Message) error {
	p, err := pl.get(ctx)
	if err != nil {
		return err
	}
	p.users.Add(1)
	err = p.publish(ctx, m)
	if errors.Is(err, ErrNacked) {
		// A channel the broker nacks on can go on nacking while new
		// channels are served (seen on a cluster with quorum queues after
		// a leader moved: a minute and more): later publishes take a new
		// channel, and this one closes once its publishes are done.
		if pl.cur.CompareAndSwap(p, nil) {
			p.retired.Store(true)
		}
	}
	if p.users.Add(-1) == 0 && p.retired.Load() {
		// In the background: channel.close waits for the broker's close-ok
		// (see publisherPool.put).
		p.closeOnce.Do(func() { go func() { _ = p.ch.Close() }() })
	}
	return err
}

// hasDeclared reports whether the current pipe knows exchange x to exist.
func (pl *pipeline) hasDeclared(x string) bool {
	p := pl.cur.Load()
	if p == nil || p.ch.IsClosed() {
		return false
	}
	_, ok := p.declared.Load(x)
	return ok
}

// markDeclared notes that exchange x exists, for the current pipe.
func (pl *pipeline) markDeclared(ctx context.Context, x string) {
	if p, err := pl.get(ctx); err == nil {
		p.declared.Store(x, struct{}{})
	}
}
