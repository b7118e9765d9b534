package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/rabbit"
)

var _ Source = (*Memory)(nil)

// Memory is an in-memory Source for unit tests, as watermill's gochannel
// is for its router: one queue that Publish fills and that its consumers
// take from, one delivery at a time per consumer, in order, recording
// every ack, nack and reject (Settlements). It behaves as a broker channel
// does where tests look: a requeued delivery comes back first with
// Redelivered set; when a consumer stops or fails over (Failover, the
// x-cancel-on-ha-failover cancel), its unsettled deliveries come back the
// same way and settling them afterwards fails (amqp.ErrClosed); settling a
// delivery twice fails. Declarations and prefetch are ignored. Safe for
// concurrent use.
type Memory struct {
	mu        sync.Mutex
	queue     []amqp.Delivery
	tag       uint64
	unsettled map[uint64]*memDelivery
	settled   []Settlement
	changed   chan struct{} // closed and replaced on every change
	failNext  error
}

// Settlement is how one delivery was settled.
type Settlement struct {
	// Op is "ack", "nack" or "reject".
	Op      string
	Requeue bool
	// MessageID is the delivery's AMQP message_id; Body its body.
	MessageID string
	Body      []byte
}

func (s Settlement) String() string {
	if s.Requeue {
		return s.Op + "+requeue"
	}
	return s.Op
}

type memDelivery struct {
	d     amqp.Delivery
	owner *memConsumer
	gen   uint64 // the owner's session the delivery was handed out in
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{unsettled: map[uint64]*memDelivery{}, changed: make(chan struct{})}
}

// Publish puts a message with routing key key at the end of the queue.
func (m *Memory) Publish(key string, p amqp.Publishing) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, amqp.Delivery{
		Headers: p.Headers, ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority, CorrelationId: p.CorrelationId,
		ReplyTo: p.ReplyTo, Expiration: p.Expiration, MessageId: p.MessageId, Timestamp: p.Timestamp,
		Type: p.Type, UserId: p.UserId, AppId: p.AppId, RoutingKey: key, Body: p.Body,
	})
	m.changedLocked()
}

// FailNext makes the next Consume fail for good with err, as a broker
// refusing a declaration does.
func (m *Memory) FailNext(err error) {
	m.mu.Lock()
	m.failNext = err
	m.mu.Unlock()
}

// Failover ends the sessions of the running consumers as a broker does on
// a mirrored queue's failover: their unsettled deliveries go back to the
// queue, redelivered, settling those fails, and the consumers consume
// again.
func (m *Memory) Failover() {
	m.mu.Lock()
	defer m.mu.Unlock()
	owners := map[*memConsumer]bool{}
	for _, u := range m.unsettled {
		owners[u.owner] = true
	}
	for c := range owners {
		m.requeueOwnedLocked(c)
		c.gen++
	}
	m.changedLocked()
}

// Len is how many messages wait in the queue.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue)
}

// Settlements returns the settlements so far, in order.
func (m *Memory) Settlements() []Settlement {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Settlement(nil), m.settled...)
}

// WaitSettled waits until there are at least n settlements and returns
// them, or returns an error when ctx ends first.
func (m *Memory) WaitSettled(ctx context.Context, n int) ([]Settlement, error) {
	for {
		m.mu.Lock()
		if len(m.settled) >= n {
			out := append([]Settlement(nil), m.settled...)
			m.mu.Unlock()
			return out, nil
		}
		ch := m.changed
		got := len(m.settled)
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("%d settlements of %d: %w", got, n, context.Cause(ctx))
		}
	}
}

// Consume starts a consumer taking from the queue; spec is ignored but
// for its name.
func (m *Memory) Consume(spec rabbit.ConsumeSpec, h rabbit.Handler) Consumer {
	ctx, cancel := context.WithCancel(context.Background())
	c := &memConsumer{m: m, h: h, ctx: ctx, cancel: cancel,
		ready: make(chan struct{}), stopping: make(chan struct{}), done: make(chan struct{})}
	m.mu.Lock()
	c.err, m.failNext = m.failNext, nil
	m.mu.Unlock()
	if c.err != nil {
		cancel()
		close(c.done)
		return c
	}
	close(c.ready)
	go c.run()
	return c
}

func (m *Memory) changedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// requeueOwnedLocked puts c's unsettled deliveries back at the front of
// the queue, in their order, redelivered.
func (m *Memory) requeueOwnedLocked(c *memConsumer) {
	var back []amqp.Delivery
	for tag, u := range m.unsettled {
		if u.owner == c {
			back = append(back, u.d)
			delete(m.unsettled, tag)
		}
	}
	sortByTag(back)
	for i := range back {
		back[i].Redelivered = true
		back[i].Acknowledger = nil
	}
	m.queue = append(back, m.queue...)
}

func sortByTag(ds []amqp.Delivery) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].DeliveryTag < ds[j-1].DeliveryTag; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// next waits for a delivery for c, or returns false when c stops.
func (m *Memory) next(c *memConsumer) (amqp.Delivery, bool) {
	for {
		m.mu.Lock()
		select {
		case <-c.stopping:
			m.mu.Unlock()
			return amqp.Delivery{}, false
		default:
		}
		if len(m.queue) > 0 {
			d := m.queue[0]
			m.queue = m.queue[1:]
			m.tag++
			d.DeliveryTag = m.tag
			d.Acknowledger = memAcker{m}
			m.unsettled[d.DeliveryTag] = &memDelivery{d: d, owner: c, gen: c.gen}
			m.mu.Unlock()
			return d, true
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-c.stopping:
		}
	}
}

// errUnknownTag is what settling a delivery twice (or one never handed
// out) gives; RabbitMQ closes the channel with PRECONDITION_FAILED then.
var errUnknownTag = errors.New("memory: unknown delivery tag")

// memAcker is the Acknowledger of Memory's deliveries.
type memAcker struct{ m *Memory }

func (a memAcker) Ack(tag uint64, multiple bool) error {
	return a.m.settle(tag, multiple, Settlement{Op: "ack"})
}

func (a memAcker) Nack(tag uint64, multiple, requeue bool) error {
	return a.m.settle(tag, multiple, Settlement{Op: "nack", Requeue: requeue})
}

func (a memAcker) Reject(tag uint64, requeue bool) error {
	return a.m.settle(tag, false, Settlement{Op: "reject", Requeue: requeue})
}

func (m *Memory) settle(tag uint64, multiple bool, s Settlement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.unsettled[tag]
	if !ok {
		return errUnknownTag
	}
	if u.gen != u.owner.gen {
		return amqp.ErrClosed
	}
	tags := []uint64{tag}
	if multiple {
		tags = tags[:0]
		for t, o := range m.unsettled {
			if t <= tag && o.owner == u.owner {
				tags = append(tags, t)
			}
		}
	}
	for _, t := range tags {
		o := m.unsettled[t]
		delete(m.unsettled, t)
		s.MessageID, s.Body = o.d.MessageId, o.d.Body
		m.settled = append(m.settled, s)
		if s.Requeue {
			d := o.d
			d.Redelivered, d.Acknowledger = true, nil
			m.queue = append([]amqp.Delivery{d}, m.queue...)
		}
	}
	m.changedLocked()
	return nil
}

// memConsumer is a consumer of a Memory.
type memConsumer struct {
	m      *Memory
	h      rabbit.Handler
	ctx    context.Context
	cancel context.CancelFunc
	gen    uint64 // guarded by m.mu
	err    error

	ready    chan struct{}
	stopping chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func (c *memConsumer) run() {
	defer close(c.done)
	defer c.cancel()
	for {
		d, ok := c.m.next(c)
		if !ok {
			break
		}
		c.h(c.ctx, d)
	}
	// The channel closes: what is unsettled goes back.
	c.m.mu.Lock()
	c.m.requeueOwnedLocked(c)
	c.gen++
	c.m.changedLocked()
	c.m.mu.Unlock()
}

func (c *memConsumer) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-c.done:
		return c.err
	case <-ctx.Done():
		_ = c.Stop(context.Background())
		return context.Cause(ctx)
	}
}

func (c *memConsumer) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stopping) })
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		c.cancel()
		<-c.done
		return context.Cause(ctx)
	}
}

func (c *memConsumer) Done() <-chan struct{} { return c.done }

// State is stopped (or failed, with the start's error) once the consumer
// has ended, consuming once it was ready, starting before.
func (c *memConsumer) State() rabbit.ConsumerState {
	select {
	case <-c.done:
		if c.err != nil {
			return rabbit.ConsumerState{State: rabbit.ConsumerFailed, LastError: c.err}
		}
		return rabbit.ConsumerState{State: rabbit.ConsumerStopped}
	default:
	}
	select {
	case <-c.ready:
		return rabbit.ConsumerState{State: rabbit.ConsumerConsuming}
	default:
		return rabbit.ConsumerState{State: rabbit.ConsumerStarting}
	}
}
