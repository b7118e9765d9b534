package listener

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/transport"
)

// Defaults of Config.
const (
	DefaultMaxRequeues = 5
	DefaultMaxBodySize = oslo.DefaultMaxMessageSize
	DefaultWorkers     = 16
	// attemptsTracked bounds the in-memory requeue counts.
	attemptsTracked = 10000
)

// Config configures a Listener. The transport it is made on gives the
// broker connection consumed on and the rabbit options (topology flags,
// prefetch, cancel-on-failover).
type Config struct {
	// Exchange is the exchange of the targets that name none (the
	// transport's control exchange when empty).
	Exchange string
	// Targets are the topics listened on; at least one.
	Targets []Target
	// Priorities listened to, lower case; all seven when empty. (A Python
	// listener listens to the priorities its endpoints have methods for.)
	Priorities []string
	// Pool makes the listener consume one queue named Pool, shared by all
	// listeners of that pool, instead of the "<topic>.<priority>" queues.
	Pool string
	// Filter screens notifications before the handler (nil: all pass).
	Filter *Filter
	// Executor runs the handler; a pool of DefaultWorkers when nil.
	// Shutdown shuts it down.
	Executor executors.Executor
	// Prefetch overrides the consumer prefetch; 0 means the
	// rabbit_qos_prefetch_count option if given (as oslo means it: 0 is no
	// basic.qos), else the executor capacity times the batch size.
	Prefetch int
	// AllowRequeue lets Requeue put messages back on their queue; without
	// it a Requeue acks (and so drops) the message, as oslo does.
	AllowRequeue bool
	// MaxRequeues bounds the requeues of one message (0 means
	// DefaultMaxRequeues, negative unlimited): a handler asking to requeue
	// a message already requeued that often gets it logged at ERROR and
	// dropped (acked). Attempts are counted with the broker's
	// x-delivery-count header (quorum queues) or, as RabbitMQ classic queues
	// do not count, in memory per Listener by _unique_id/message_id.
	MaxRequeues int
	// Observe, when set, is told how each notification handed to the
	// handler, or refused as malformed, was settled: "handled" (acked),
	// "requeued", or "dropped" (malformed, requeued too often, or a
	// requeue not allowed). It must not block.
	Observe func(outcome string)
	// Batch turns on batch delivery to BatchHandler.
	Batch       *BatchConfig
	MaxBodySize int
	Logger      hclog.Logger
	// Handler receives each notification (without Batch).
	Handler Handler
	// BatchHandler receives batches (with Batch).
	BatchHandler BatchHandler
	// Duplicates is the duplicate-message window; a window of its own
	// (dedup defaults: one minute) when nil. Listeners that replace one
	// another share theirs to keep catching duplicates across the change.
	Duplicates DuplicateWindow
}

// DuplicateWindow remembers the _unique_id of notifications handled
// lately. Implementations must be safe for concurrent use.
type DuplicateWindow interface {
	// Contains reports whether id was seen (and is still remembered).
	Contains(id string) bool
	// Add remembers id for at least ttl.
	Add(id string, ttl time.Duration)
}

// Listener is an oslo.messaging notification listener. Safe for
// concurrent use.
type Listener struct {
	cfg        Config
	t          *transportx.Shared
	log        hclog.Logger
	exec       executors.Executor
	priorities map[string]bool
	topo       topology
	prefetch   int
	dedup      DuplicateWindow
	attempts   *attemptCounter
	batch      *batcher

	mu       sync.Mutex
	started  bool
	stopping bool
	consumer *rabbit.Consumer
	inflight sync.WaitGroup // messages taken and not yet settled
	released chan struct{}  // closed when deliveries held at shutdown may go back
	hardCtx  context.Context
	hardStop context.CancelFunc
}

// New checks cfg and returns a Listener on t; Start begins consuming.
func New(t *transport.Transport, cfg Config) (*Listener, error) {
	sh := transportx.Of(t)
	if sh == nil {
		return nil, errors.New("listener: a transport is required")
	}
	if len(cfg.Targets) == 0 {
		return nil, errors.New("listener: no target")
	}
	for _, t := range cfg.Targets {
		if t.Topic == "" {
			return nil, errors.New("listener: target has no topic")
		}
	}
	switch {
	case cfg.Batch == nil && cfg.BatchHandler != nil:
		return nil, errors.New("listener: BatchHandler needs Batch")
	case cfg.Batch == nil && cfg.Handler == nil:
		return nil, errors.New("listener: Handler is required")
	case cfg.Batch != nil && cfg.BatchHandler == nil:
		return nil, errors.New("listener: Batch needs a BatchHandler")
	case cfg.Batch != nil && cfg.Handler != nil:
		return nil, errors.New("listener: give Handler or BatchHandler, not both")
	case cfg.Batch != nil && (cfg.Batch.Size <= 0 || cfg.Batch.Timeout < 0):
		return nil, fmt.Errorf("listener: batch size must be positive and timeout not negative, got %d and %s", cfg.Batch.Size, cfg.Batch.Timeout)
	}
	var err error
	if cfg.Priorities, err = normalizePriorities(cfg.Priorities); err != nil {
		return nil, err
	}
	prios := make(map[string]bool, len(cfg.Priorities))
	for _, p := range cfg.Priorities {
		prios[p] = true
	}
	if cfg.Exchange == "" {
		cfg.Exchange = sh.Exchange
	}
	if cfg.MaxRequeues == 0 {
		cfg.MaxRequeues = DefaultMaxRequeues
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	exec := cfg.Executor
	if exec == nil {
		exec = executors.NewPool(DefaultWorkers)
	}
	topics := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		topics[i] = t.Topic
	}
	log := cfg.Logger.With("topics", topics)
	if cfg.Pool != "" {
		log = log.With("pool", cfg.Pool)
	}
	batchSize := 1
	if cfg.Batch != nil {
		batchSize = cfg.Batch.Size
	}
	prefetch := cfg.Prefetch
	if prefetch == 0 {
		prefetch = sh.Options.ConsumerPrefetch(exec.Capacity() * batchSize)
	}
	if cfg.Batch != nil && prefetch > 0 && prefetch < batchSize {
		// A batch can never fill beyond the prefetch (oslo caps it too).
		log.Warn("batch size above the prefetch; using the prefetch", "batch_size", batchSize, "prefetch", prefetch)
		batchSize = prefetch
	}
	dups := cfg.Duplicates
	if dups == nil {
		dups = dedup.New(0, 0)
	}
	hard, stop := context.WithCancel(context.Background())
	l := &Listener{
		cfg: cfg, t: sh, log: log, exec: exec, priorities: prios,
		topo:     declarations(sh.Topology(), cfg.Exchange, cfg.Targets, cfg.Priorities, cfg.Pool),
		prefetch: prefetch,
		dedup:    dups,
		attempts: newAttemptCounter(attemptsTracked),
		released: make(chan struct{}),
		hardCtx:  hard, hardStop: stop,
	}
	if cfg.Batch != nil {
		l.batch = newBatcher(batchSize, cfg.Batch.Timeout, l.dispatchBatch)
	}
	return l, nil
}

// normalizePriorities lower-cases priorities; all seven when none.
func normalizePriorities(in []string) ([]string, error) {
	if len(in) == 0 {
		return oslo.Priorities(), nil
	}
	out := make([]string, len(in))
	for i, p := range in {
		lp, ok := oslo.NormalizePriority(p)
		if !ok {
			return nil, fmt.Errorf("listener: unknown priority %q (want one of %s)", p, strings.Join(oslo.Priorities(), ", "))
		}
		out[i] = lp
	}
	return out, nil
}

// Plan is what a listener of cfg on a transport with options o declares
// and consumes, computed as New does without a connection (for the host's
// topology check). An empty cfg.Exchange is oslo.DefaultControlExchange
// here.
func Plan(o rabbit.Options, cfg Config) (rabbit.Plan, error) {
	prios, err := normalizePriorities(cfg.Priorities)
	if err != nil {
		return rabbit.Plan{}, err
	}
	exchange := cfg.Exchange
	if exchange == "" {
		exchange = oslo.DefaultControlExchange
	}
	return rabbit.TopologyFrom(o).ListenerPlan(exchange, cfg.Targets, prios, cfg.Pool), nil
}

// Queues are the queues the listener consumes.
func (l *Listener) Queues() []string { return append([]string(nil), l.topo.queues...) }

// Start declares the queues, starts consuming and returns once the
// consumer is ready (or ctx ends). Call it once.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("listener: already started")
	}
	l.started = true
	l.mu.Unlock()

	args := rabbit.ConsumerArgs(l.t.Options)
	name := "notify-" + l.cfg.Targets[0].Topic
	if l.cfg.Pool != "" {
		name += "-" + l.cfg.Pool
	}
	consumer := l.t.Conn.Consume(rabbit.ConsumeSpec{
		Name:     name,
		Declare:  l.topo.decl,
		Queues:   l.topo.queues,
		Prefetch: l.prefetch,
		Args:     args,
	}, l.handleDelivery)
	l.mu.Lock()
	l.consumer = consumer
	l.mu.Unlock()
	if err := consumer.WaitReady(ctx); err != nil {
		return fmt.Errorf("listener: start: %w", err)
	}
	l.log.Info("listening for notifications", "queues", l.topo.queues, "prefetch", l.prefetch)
	return nil
}

// Run starts the listener, consumes until ctx ends, then shuts down,
// giving the notifications being handled up to drain to finish.
func (l *Listener) Run(ctx context.Context, drain time.Duration) error {
	return rabbit.Serve(ctx, drain, l.Start, l.Shutdown)
}

// Shutdown stops taking notifications (those not yet handed to the
// handler go back to their queue), hands a pending partial batch to the
// handler, waits until the running handlers return and their messages are
// acked or requeued, or ctx ends (then the handlers' ctx is cancelled),
// stops the consumer and shuts the executor down. Idempotent.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	consumer := l.consumer
	already := l.stopping
	l.stopping = true
	l.mu.Unlock()
	if consumer == nil || already {
		if consumer != nil {
			<-consumer.Done()
		}
		return nil
	}
	if l.batch != nil {
		l.batch.flush()
	}
	// Drain while the channel is still open, so the acks reach the broker.
	var err error
	drained := make(chan struct{})
	go func() {
		l.inflight.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		err = context.Cause(ctx)
		l.hardStop()
	}
	close(l.released)
	if e := consumer.Stop(ctx); e != nil && err == nil {
		err = e
	}
	if e := l.exec.Shutdown(ctx); e != nil && err == nil {
		err = e
	}
	l.hardStop()
	<-drained
	if err != nil {
		return fmt.Errorf("listener: shutdown: %w", err)
	}
	return nil
}

// item is a notification taken for the handler.
type item struct {
	d   amqp.Delivery
	msg *Message
	// key identifies the message across redeliveries for attempt counting:
	// its _unique_id, else its message_id.
	key      string
	uniqueID string
}

// handleDelivery runs on the consumer's goroutine for each delivery.
func (l *Listener) handleDelivery(ctx context.Context, d amqp.Delivery) {
	it := l.prepare(&d)
	if it == nil {
		return
	}
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		// Hold it until the consumer stops, then give it back: a nack now
		// would bring it straight back while the listener drains.
		select {
		case <-ctx.Done():
		case <-l.released:
		}
		_ = d.Nack(false, true)
		return
	}
	l.inflight.Add(1)
	l.mu.Unlock()
	if l.batch != nil {
		l.batch.add(it)
		return
	}
	err := l.exec.Submit(ctx, func() {
		defer l.inflight.Done()
		l.settle(it, l.callHandler(it))
	})
	if err != nil {
		l.inflight.Done()
		_ = d.Nack(false, true) // not started: back to the queue
	}
}

// prepare decodes a delivery and decides whether it goes to the handler;
// the deliveries that do not are acked or rejected here.
func (l *Listener) prepare(d *amqp.Delivery) *item {
	n, err := l.decode(d)
	if err != nil {
		l.log.Warn("dropping malformed notification", "error", err, "routing_key", d.RoutingKey, "bytes", len(d.Body))
		_ = d.Reject(false)
		l.observe("dropped")
		return nil
	}
	p, known := oslo.NormalizePriority(n.Priority)
	if !known {
		l.log.Warn(fmt.Sprintf("Unknown priority %q", p), "event_type", n.EventType, "message_id", n.MessageID)
		l.ack(d, n.UniqueID)
		return nil
	}
	if !l.priorities[p] {
		// No handler for it, as a Python listener without that endpoint
		// method (reachable only through foreign bindings of a pool queue).
		l.log.Debug("notification of a priority not listened to", "priority", p, "event_type", n.EventType)
		l.ack(d, n.UniqueID)
		return nil
	}
	if l.dedup.Contains(n.UniqueID) {
		// Python leaves a duplicate unacked until the connection closes;
		// acking it keeps the prefetch window free.
		l.log.Warn("ignoring duplicate notification", "unique_id", n.UniqueID, "event_type", n.EventType, "message_id", n.MessageID)
		_ = d.Ack(false)
		return nil
	}
	msg := &Message{
		Priority:    p,
		PublisherID: n.PublisherID,
		EventType:   n.EventType,
		Payload:     n.Payload,
		Context:     n.EndpointContext(),
		Metadata:    Metadata{MessageID: n.MessageID, Timestamp: n.Timestamp},
		Topic:       strings.TrimSuffix(d.RoutingKey, "."+p),
		Redelivered: d.Redelivered,
	}
	if msg.Payload == nil {
		msg.Payload = []byte("null")
	}
	if !l.cfg.Filter.Match(msg) {
		l.log.Trace("notification filtered out", "event_type", n.EventType, "publisher_id", n.PublisherID)
		l.ack(d, n.UniqueID)
		return nil
	}
	key := n.UniqueID
	if key == "" {
		key = n.MessageID
	}
	count := l.attempts.requeues(key)
	if bc, ok := brokerDeliveryCount(d.Headers); ok && bc > count {
		count = bc
	}
	msg.Attempts = count + 1
	return &item{d: *d, msg: msg, key: key, uniqueID: n.UniqueID}
}

// decode checks size, compression and content type, then decodes.
func (l *Listener) decode(d *amqp.Delivery) (*oslo.Notification, error) {
	if len(d.Body) > l.cfg.MaxBodySize {
		return nil, fmt.Errorf("body of %d bytes exceeds the limit of %d", len(d.Body), l.cfg.MaxBodySize)
	}
	body, err := rabbit.JSONBody(d, l.cfg.MaxBodySize)
	if err != nil {
		return nil, err
	}
	return oslo.DecodeNotification(body)
}

// callHandler runs the handler; an error or a panic is a Requeue.
func (l *Listener) callHandler(it *item) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("notification handler panicked", "panic", fmt.Sprint(r), "event_type", it.msg.EventType, "message_id", it.msg.Metadata.MessageID)
			res = Requeue
		}
	}()
	res, err := l.cfg.Handler.HandleNotification(l.hardCtx, it.msg)
	if err != nil {
		l.log.Warn("notification handler failed", "error", err, "event_type", it.msg.EventType, "message_id", it.msg.Metadata.MessageID)
		return Requeue
	}
	return res
}

// dispatchBatch runs one batch on the executor.
func (l *Listener) dispatchBatch(batch []*item) {
	err := l.exec.Submit(l.hardCtx, func() {
		res := l.callBatchHandler(batch)
		for i, it := range batch {
			l.settle(it, res[i])
			l.inflight.Done()
		}
	})
	if err != nil {
		for _, it := range batch {
			_ = it.d.Nack(false, true)
			l.inflight.Done()
		}
	}
}

// callBatchHandler returns one Result per item.
func (l *Listener) callBatchHandler(batch []*item) (res []Result) {
	all := func(r Result) []Result {
		out := make([]Result, len(batch))
		for i := range out {
			out[i] = r
		}
		return out
	}
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("notification batch handler panicked", "panic", fmt.Sprint(r), "batch_size", len(batch))
			res = all(Requeue)
		}
	}()
	msgs := make([]*Message, len(batch))
	for i, it := range batch {
		msgs[i] = it.msg
	}
	got, err := l.cfg.BatchHandler.HandleNotifications(l.hardCtx, msgs)
	switch {
	case err != nil:
		l.log.Warn("notification batch handler failed", "error", err, "batch_size", len(batch))
		return all(Requeue)
	case got == nil:
		return all(Handled)
	case len(got) != len(batch):
		l.log.Error("notification batch handler returned the wrong number of results; requeueing the batch", "results", len(got), "batch_size", len(batch))
		return all(Requeue)
	}
	return got
}

// settle acks or requeues a handled message.
func (l *Listener) settle(it *item, res Result) {
	m := it.msg
	outcome := "handled"
	if res == Requeue {
		outcome = "dropped"
		switch {
		case !l.cfg.AllowRequeue:
			l.log.Warn("handler asked to requeue but requeue is not allowed: notification dropped",
				"event_type", m.EventType, "message_id", m.Metadata.MessageID)
		case l.cfg.MaxRequeues >= 0 && m.Attempts > l.cfg.MaxRequeues:
			l.log.Error("dropping poison notification: requeued too often",
				"event_type", m.EventType, "message_id", m.Metadata.MessageID, "publisher_id", m.PublisherID,
				"priority", m.Priority, "attempts", m.Attempts, "max_requeues", l.cfg.MaxRequeues)
		default:
			l.attempts.requeued(it.key)
			if err := it.d.Reject(true); err != nil {
				l.log.Warn("requeue failed; the broker will deliver the notification again", "error", err, "message_id", m.Metadata.MessageID)
			}
			l.observe("requeued")
			return
		}
	}
	l.attempts.done(it.key)
	l.ack(&it.d, it.uniqueID)
	l.observe(outcome)
}

func (l *Listener) observe(outcome string) {
	if l.cfg.Observe != nil {
		l.cfg.Observe(outcome)
	}
}

// ack acks d and records its _unique_id as handled (even when the ack
// fails: the broker then delivers it again, and the duplicate window
// drops it, as oslo's msg_id_cache does).
func (l *Listener) ack(d *amqp.Delivery, uniqueID string) {
	if err := d.Ack(false); err != nil {
		l.log.Warn("ack failed; the broker will deliver the notification again", "error", err, "unique_id", uniqueID)
	}
	l.dedup.Add(uniqueID, expiration(d))
}

// expiration is a message's time to live (0 when it has none): no copy of
// it is delivered after that.
func expiration(d *amqp.Delivery) time.Duration {
	ms, err := strconv.ParseInt(d.Expiration, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
