package rabbit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ConsumeSpec says what a Consumer declares and consumes.
type ConsumeSpec struct {
	// Name is used in logs and consumer tags.
	Name    string
	Declare Declarations
	// Queues are consumed (manual ack), each on a channel of its own.
	Queues []string
	// Prefetch is basic.qos prefetch_count per consumer; 0 sends no qos.
	Prefetch int
	// BatchAcks makes the deliveries' Ack coalesce: acks asked for at about
	// the same time go out as one basic.ack with multiple set (see
	// batchAcker). For handlers that ack from many goroutines at once.
	BatchAcks bool
	// AckOnReceipt makes the consumer ack every delivery itself, as it
	// receives it, for handlers that would ack first thing and return at
	// once (a reply queue); the handler must not settle the delivery. The
	// acks of a burst go out as one basic.ack with multiple set, sent when
	// no further delivery is waiting (or after ackOnReceiptMax of them).
	AckOnReceipt bool
	// Args are consumer arguments (x-cancel-on-ha-failover).
	Args amqp.Table
	// DeleteOnStop are queues deleted by Stop (a server's fanout queue).
	DeleteOnStop []string
}

// Handler receives each delivery. ctx ends when the consumer stops; the
// handler owns the delivery's ack, nack or reject. Handlers of one queue are
// called one at a time, in delivery order; a blocking handler holds back
// that queue (back-pressure), not the others.
type Handler func(ctx context.Context, d amqp.Delivery)

// Consumer consumes queues on its own channel of a Conn and comes back by
// itself, redeclaring its topology, after the channel or connection is lost.
// Safe for concurrent use; Stop is idempotent.
type Consumer struct {
	c    *Conn
	spec ConsumeSpec
	h    Handler

	ready     chan struct{}
	readyOnce sync.Once
	failed    chan struct{} // closed when the first start failed for good
	err       error         // why, once failed is closed
	stopping  chan struct{}
	stopOnce  sync.Once
	done      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc

	// offsets holds, for each stream queue, where to resume: "last" at
	// first and after the broker cancelled the consumer, else one past the
	// last delivery's x-stream-offset (oslo's next_stream_offset).
	offsetMu sync.Mutex
	offsets  map[string]any
}

// Consume starts a Consumer. It runs until Stop or Close of the Conn.
func (c *Conn) Consume(spec ConsumeSpec, h Handler) *Consumer {
	ctx, cancel := context.WithCancel(context.Background())
	cs := &Consumer{
		c: c, spec: spec, h: h,
		ready: make(chan struct{}), failed: make(chan struct{}), stopping: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
	for _, q := range spec.Declare.Queues {
		if q.Stream {
			if cs.offsets == nil {
				cs.offsets = map[string]any{}
			}
			cs.offsets[q.Name] = "last"
		}
	}
	go cs.run()
	return cs
}

// Ready is closed once the consumer has declared its topology and started
// consuming for the first time.
func (cs *Consumer) Ready() <-chan struct{} { return cs.ready }

// Failed is closed, and the consumer stopped, when its first attempt to
// declare its topology and consume failed in a way no retry can mend: the
// broker refused a declaration (406 PRECONDITION_FAILED, e.g. an exchange
// that exists with another type) or the permission (403 ACCESS_REFUSED).
// Err says why. Failures after the consumer was once ready are retried.
func (cs *Consumer) Failed() <-chan struct{} { return cs.failed }

// Err is why the consumer failed (see Failed), or nil.
func (cs *Consumer) Err() error {
	select {
	case <-cs.failed:
		return cs.err
	default:
		return nil
	}
}

// refusedDeclaration reports whether err is a broker refusal no retry mends.
func refusedDeclaration(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.PreconditionFailed || ae.Code == amqp.AccessRefused)
}

// Done is closed when the consumer has stopped for good.
func (cs *Consumer) Done() <-chan struct{} { return cs.done }

// Stop cancels the consumers (no new deliveries), gives back the
// deliveries not yet handed to the handler (nack with requeue), waits until
// running handler calls return or ctx ends, deletes the DeleteOnStop queues
// and closes the channel.
func (cs *Consumer) Stop(ctx context.Context) error {
	cs.stopOnce.Do(func() { close(cs.stopping) })
	select {
	case <-cs.done:
		return nil
	case <-ctx.Done():
		cs.cancel()
		<-cs.done
		return context.Cause(ctx)
	}
}

func (cs *Consumer) run() {
	defer close(cs.done)
	defer cs.cancel()
	log := cs.c.log.With("consumer", cs.spec.Name)
	b := newBackoff(cs.c.cfg.URL.Options)
	for {
		stopped, consumed, err := cs.session()
		if stopped {
			return
		}
		if consumed {
			// The session had resumed consuming: this is a new outage, not
			// another failed attempt at the last one.
			b.reset()
		}
		select {
		case <-cs.ready:
		default:
			if refusedDeclaration(err) {
				cs.err = err
				close(cs.failed)
				return
			}
		}
		wait := b.next()
		if err != nil {
			log.Warn("consumer interrupted", "error", err, "retry_in", wait.Round(time.Millisecond))
		}
		select {
		case <-cs.stopping:
			return
		case <-time.After(wait):
		}
	}
}

// session consumes, each queue on its own channel, until a channel closes
// (stopped false) or Stop (stopped true); consumed reports whether it got as
// far as consuming. A channel per queue keeps each channel's delivery tags
// in the order its one handler goroutine sees them, which batched acks
// rely on.
func (cs *Consumer) session() (stopped, consumed bool, err error) {
	ctx, cancel := context.WithCancel(cs.ctx)
	defer cancel()
	go func() {
		select {
		case <-cs.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	n := len(cs.spec.Queues)
	chans := make([]*amqp.Channel, 0, n)
	defer func() {
		for _, ch := range chans {
			_ = ch.Close()
		}
	}()
	ch, _, err := cs.c.Channel(ctx)
	if err != nil {
		return cs.isStopping(), false, err
	}
	if ch, err = cs.c.declare(ctx, ch, &cs.spec.Declare); err != nil {
		if ch != nil {
			_ = ch.Close()
		}
		return cs.isStopping(), false, err
	}
	chans = append(chans, ch)
	for len(chans) < n {
		ch, _, err := cs.c.Channel(ctx)
		if err != nil {
			return cs.isStopping(), false, err
		}
		chans = append(chans, ch)
	}
	tags := make([]string, n)
	streams := make([]<-chan amqp.Delivery, n)
	cancelled := make([]chan string, n)
	for i, q := range cs.spec.Queues {
		if cs.spec.Prefetch > 0 {
			if err := chans[i].Qos(cs.spec.Prefetch, 0, false); err != nil {
				return cs.isStopping(), false, fmt.Errorf("qos: %w", err)
			}
		}
		tags[i] = fmt.Sprintf("%s-%d-%s", cs.spec.Name, i+1, q)
		args := cs.spec.Args
		if offset, ok := cs.streamOffset(q); ok {
			// oslo replaces the consumer arguments for a stream.
			args = amqp.Table{"x-stream-offset": offset}
			cancelled[i] = chans[i].NotifyCancel(make(chan string, 1))
		}
		if streams[i], err = chans[i].Consume(q, tags[i], false, false, false, false, args); err != nil {
			return cs.isStopping(), false, fmt.Errorf("consume %q: %w", q, err)
		}
	}
	cs.readyOnce.Do(func() { close(cs.ready) })
	cs.c.log.Debug("consuming", "consumer", cs.spec.Name, "queues", cs.spec.Queues)

	var wg sync.WaitGroup
	ended := make(chan struct{}, n)
	wire := cs.c.currentWire()
	for i, s := range streams {
		var acker amqp.Acknowledger
		if cs.spec.BatchAcks {
			acker = newBatchAcker(chans[i], wire)
		}
		queue, stream := cs.spec.Queues[i], cancelled[i] != nil
		wg.Add(1)
		if cs.spec.AckOnReceipt {
			go func() {
				defer wg.Done()
				cs.ackOnReceipt(ctx, chans[i], s)
				ended <- struct{}{}
			}()
			continue
		}
		go func() {
			defer wg.Done()
			for d := range s {
				if stream {
					cs.sawStreamOffset(queue, d.Headers["x-stream-offset"])
				}
				if acker != nil {
					d.Acknowledger = acker
				}
				select {
				case <-ctx.Done():
					_ = d.Nack(false, true) // not started: back to the queue
					continue
				default:
				}
				cs.h(ctx, d)
			}
			ended <- struct{}{}
		}()
	}
	select {
	case <-ended: // a channel or consumer closed under us
		for _, ch := range chans {
			_ = ch.Close()
		}
		wg.Wait()
		cs.resetOffsetsIfCancelled(cancelled)
		return cs.isStopping(), true, fmt.Errorf("channel closed")
	case <-cs.stopping:
	}
	for i, t := range tags {
		_ = chans[i].Cancel(t, false)
	}
	cancel()
	wg.Wait()
	for _, q := range cs.spec.DeleteOnStop {
		if _, err := chans[0].QueueDelete(q, false, false, false); err != nil {
			cs.c.log.Debug("delete queue on stop", "queue", q, "error", err)
		}
	}
	return true, true, nil
}

// streamOffset is where to resume consuming stream queue q.
func (cs *Consumer) streamOffset(q string) (any, bool) {
	cs.offsetMu.Lock()
	defer cs.offsetMu.Unlock()
	off, ok := cs.offsets[q]
	return off, ok
}

// sawStreamOffset records a delivery's x-stream-offset: the next session
// resumes after it.
func (cs *Consumer) sawStreamOffset(q string, header any) {
	var next int64
	switch v := header.(type) {
	case int64:
		next = v + 1
	case int32:
		next = int64(v) + 1
	default:
		return
	}
	cs.offsetMu.Lock()
	cs.offsets[q] = next
	cs.offsetMu.Unlock()
}

// resetOffsetsIfCancelled starts every stream over from "last" when the
// broker cancelled one of its consumers (the stream was deleted, say: its
// offsets mean nothing any more), as oslo does on a Basic.cancel.
func (cs *Consumer) resetOffsetsIfCancelled(cancelled []chan string) {
	for _, c := range cancelled {
		if c == nil {
			continue
		}
		select {
		case _, ok := <-c:
			if !ok { // closed with its channel, not a cancel
				continue
			}
			cs.offsetMu.Lock()
			for q, off := range cs.offsets {
				cs.c.log.Warn("stream consumer cancelled by the broker; resuming from last", "queue", q, "offset", off)
				cs.offsets[q] = "last"
			}
			cs.offsetMu.Unlock()
			return
		default:
		}
	}
}

// ackOnReceiptMax bounds the deliveries one coalesced ack covers.
const ackOnReceiptMax = 64

// ackOnReceipt hands the deliveries of s to the handler, acking them as
// they arrive (AckOnReceipt): when no further delivery is waiting, one
// basic.ack with multiple covers all those received since the last.
func (cs *Consumer) ackOnReceipt(ctx context.Context, ch *amqp.Channel, s <-chan amqp.Delivery) {
	var last uint64
	n := 0
	flush := func() {
		if n > 0 {
			_ = ch.Ack(last, true)
			n = 0
		}
	}
	defer flush()
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case d, ok = <-s:
		default:
			flush()
			d, ok = <-s
		}
		if !ok {
			return
		}
		last = d.DeliveryTag
		d.Acknowledger = settledDelivery{}
		if n++; n >= ackOnReceiptMax {
			flush()
		}
		cs.h(ctx, d)
	}
}

// settledDelivery is the Acknowledger of a delivery acked by the consumer:
// settling it again is a no-op.
type settledDelivery struct{}

func (settledDelivery) Ack(uint64, bool) error        { return nil }
func (settledDelivery) Nack(uint64, bool, bool) error { return nil }
func (settledDelivery) Reject(uint64, bool) error     { return nil }

func (cs *Consumer) isStopping() bool {
	select {
	case <-cs.stopping:
		return true
	default:
		return false
	}
}
