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
	// SetupTimeout bounds each step of setting up a session (channel.open,
	// each declaration, basic.qos, basic.consume; also basic.cancel and
	// queue.delete at Stop); 0 is DefaultSetupTimeout. A step the broker
	// does not answer in time closes its channel (or, that unanswered too,
	// the connection) and the consumer tries again with backoff.
	SetupTimeout time.Duration
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

	state *consumerState
}

// Consume starts a Consumer. It runs until Stop or Close of the Conn.
func (c *Conn) Consume(spec ConsumeSpec, h Handler) *Consumer {
	ctx, cancel := context.WithCancel(context.Background())
	cs := &Consumer{
		c: c, spec: spec, h: h,
		ready: make(chan struct{}), failed: make(chan struct{}), stopping: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel, state: newConsumerState(time.Now()),
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

// State is what the consumer is doing now: starting, consuming,
// reconnecting (since when, and why), failed or stopped.
func (cs *Consumer) State() ConsumerState { return cs.state.get() }

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

// refusedDeclaration reports whether err is a broker refusal no retry mends
// (the caller excepts noLocalReplica).
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
		stopped, consumed, conn, err := cs.session()
		if stopped || errors.Is(err, ErrClosed) { // Stop, or Close of the Conn
			cs.state.end(time.Now(), nil)
			return
		}
		if consumed {
			// The session had resumed consuming: this is a new outage, not
			// another failed attempt at the last one.
			b.reset()
		}
		cs.state.down(time.Now(), consumed, err)
		local := noLocalReplica(err)
		select {
		case <-cs.ready:
		default:
			// A node without a replica of a queue is no refusal: another
			// node serves it.
			if refusedDeclaration(err) && !local {
				cs.err = err
				cs.state.end(time.Now(), err)
				close(cs.failed)
				return
			}
		}
		wait := b.next()
		args := []any{"error", err, "retry_in", wait.Round(time.Millisecond)}
		if local && cs.c.failover(conn, err, cs.setupTimeout()) {
			args = append(args, "action", "reconnecting to another node")
		}
		if consumed {
			log.Warn("consumer interrupted; setting up again", args...)
		} else {
			st := cs.state.get()
			log.Warn("consumer setup failed; retrying", append(args, "state", st.State, "attempt", st.Attempts)...)
		}
		select {
		case <-cs.stopping:
			cs.state.end(time.Now(), nil)
			return
		case <-time.After(wait):
		}
	}
}

func (cs *Consumer) setupTimeout() time.Duration {
	if cs.spec.SetupTimeout > 0 {
		return cs.spec.SetupTimeout
	}
	return DefaultSetupTimeout
}

// session consumes, each queue on its own channel, until a channel closes
// (stopped false) or Stop (stopped true); consumed reports whether it got as
// far as consuming, conn is the connection it used (nil if none). Every
// step of the setup is bounded (setup.do). A channel per queue keeps each
// channel's delivery tags in the order its one handler goroutine sees
// them, which batched acks rely on.
func (cs *Consumer) session() (stopped, consumed bool, conn *amqp.Connection, err error) {
	ctx, cancel := context.WithCancel(cs.ctx)
	defer cancel()
	go func() {
		select {
		case <-cs.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	s := &setup{c: cs.c, ctx: ctx, timeout: cs.setupTimeout()}
	n := len(cs.spec.Queues)
	chans := make([]*amqp.Channel, 0, n)
	defer func() {
		for _, ch := range chans {
			s.closeChannel(s.conn, ch)
		}
	}()
	fail := func(err error) (bool, bool, *amqp.Connection, error) {
		return cs.isStopping(), false, s.conn, err
	}
	ch, err := s.channel()
	if err != nil {
		return fail(err)
	}
	if ch, err = cs.c.declareBounded(ctx, ch, &cs.spec.Declare, s); err != nil {
		if ch != nil {
			s.closeChannel(s.conn, ch)
		}
		return fail(err)
	}
	chans = append(chans, ch)
	for len(chans) < n {
		ch, err := s.channel()
		if err != nil {
			return fail(err)
		}
		chans = append(chans, ch)
	}
	tags := make([]string, n)
	streams := make([]<-chan amqp.Delivery, n)
	isStream := make([]bool, n)
	cancels := make([]chan string, n)
	closes := make([]chan *amqp.Error, n)
	for i, q := range cs.spec.Queues {
		if cs.spec.Prefetch > 0 {
			err := s.do("basic.qos", s.conn, chans[i], func() error { return chans[i].Qos(cs.spec.Prefetch, 0, false) })
			if err != nil {
				return fail(fmt.Errorf("qos: %w", err))
			}
		}
		tags[i] = fmt.Sprintf("%s-%d-%s", cs.spec.Name, i+1, q)
		args := cs.spec.Args
		if offset, ok := cs.streamOffset(q); ok {
			// oslo replaces the consumer arguments for a stream.
			args = amqp.Table{"x-stream-offset": offset}
			isStream[i] = true
		}
		cancels[i] = chans[i].NotifyCancel(make(chan string, 1))
		closes[i] = chans[i].NotifyClose(make(chan *amqp.Error, 1))
		err := s.do("basic.consume on queue "+quote(q), s.conn, chans[i], func() error {
			var err error
			streams[i], err = chans[i].Consume(q, tags[i], false, false, false, false, args)
			return err
		})
		if err != nil {
			return fail(fmt.Errorf("consume %q: %w", q, err))
		}
	}
	cs.readyOnce.Do(func() { close(cs.ready) })
	if down, attempts := cs.state.consuming(time.Now()); down > 0 {
		cs.c.log.Info("consuming again", "consumer", cs.spec.Name, "queues", cs.spec.Queues,
			"downtime", down.Round(time.Millisecond), "failed_attempts", attempts)
	} else {
		cs.c.log.Debug("consuming", "consumer", cs.spec.Name, "queues", cs.spec.Queues)
	}

	var wg sync.WaitGroup
	ended := make(chan struct{}, n)
	wire := cs.c.currentWire()
	for i, st := range streams {
		var acker amqp.Acknowledger
		if cs.spec.BatchAcks {
			acker = newBatchAcker(chans[i], wire)
		}
		queue, stream := cs.spec.Queues[i], isStream[i]
		wg.Add(1)
		if cs.spec.AckOnReceipt {
			go func() {
				defer wg.Done()
				cs.ackOnReceipt(ctx, chans[i], st)
				ended <- struct{}{}
			}()
			continue
		}
		go func() {
			defer wg.Done()
			for d := range st {
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
		why, cancelled := sessionEnd(closes, cancels, cs.spec.Queues)
		for _, ch := range chans {
			s.closeChannel(s.conn, ch)
		}
		chans = nil
		wg.Wait()
		for i := range cancelled {
			if cancelled[i] && isStream[i] {
				cs.resetStreamOffsets()
				break
			}
		}
		return cs.isStopping(), true, s.conn, why
	case <-cs.stopping:
	}
	// Stopping: the steps are bounded too, by the setup timeout or the end
	// of Stop's ctx (cs.ctx), whichever comes first.
	stop := *s
	stop.ctx = cs.ctx
	for i, t := range tags {
		_ = stop.do("basic.cancel", s.conn, chans[i], func() error { return chans[i].Cancel(t, false) })
	}
	cancel()
	wg.Wait()
	for _, q := range cs.spec.DeleteOnStop {
		err := stop.do("queue.delete", s.conn, chans[0], func() error {
			_, err := chans[0].QueueDelete(q, false, false, false)
			return err
		})
		if err != nil {
			cs.c.log.Debug("delete queue on stop", "queue", q, "error", err)
		}
	}
	return true, true, s.conn, nil
}

// sessionEnd says why a session that consumed ended: the first channel's
// close reason (the broker's error, or the connection's), else a broker
// cancel of a queue's consumer, else a plain "channel closed"; cancelled
// are the queues whose consumer the broker cancelled.
func sessionEnd(closes []chan *amqp.Error, cancels []chan string, queues []string) (why error, cancelled []bool) {
	cancelled = make([]bool, len(cancels))
	for i, c := range cancels {
		select {
		case _, ok := <-c:
			cancelled[i] = ok // not closed with its channel: a cancel
			if ok && why == nil {
				why = fmt.Errorf("the broker cancelled the consumer of queue %s", quote(queues[i]))
			}
		default:
		}
	}
	for _, c := range closes {
		select {
		case e, ok := <-c:
			if ok && e != nil {
				return fmt.Errorf("channel closed: %w", e), cancelled
			}
		default:
		}
	}
	if why == nil {
		why = errors.New("channel closed")
	}
	return why, cancelled
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

// resetStreamOffsets starts every stream over from "last" after the
// broker cancelled one of its consumers (the stream was deleted, say: its
// offsets mean nothing any more), as oslo does on a Basic.cancel.
func (cs *Consumer) resetStreamOffsets() {
	cs.offsetMu.Lock()
	defer cs.offsetMu.Unlock()
	for q, off := range cs.offsets {
		cs.c.log.Warn("stream consumer cancelled by the broker; resuming from last", "queue", q, "offset", off)
		cs.offsets[q] = "last"
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
