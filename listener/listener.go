package listener

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
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
// lately (the same method set as server.DuplicateWindow; dedup.Window is
// one). Implementations must be safe for concurrent use.
type DuplicateWindow interface {
	// Contains reports whether id was seen (and is still remembered).
	Contains(id string) bool
	// Seen remembers id for at least ttl and reports whether it was seen
	// already.
	Seen(id string, ttl time.Duration) bool
}

// Listener is an oslo.messaging notification listener. Safe for
// concurrent use.
type Listener struct {
	cfg        Config
	log        hclog.Logger
	priorities map[string]bool
	topo       topology
	prefetch   int
	batchSize  int // 1 without Batch
	attempts   *attemptCounter
	// in is the intake: it acks after handling, with the verdicts of
	// handle and handleBatch.
	in *intake.Intake[*item]
}

// New checks cfg and returns a Listener on t; Start begins consuming.
func New(t *transport.Transport, cfg Config) (*Listener, error) {
	sh := transportx.Of(t)
	if sh == nil {
		return nil, errors.New("listener: a transport is required")
	}
	return newListener(sh, intake.Rabbit{Conn: sh.Conn, Options: sh.Options}, cfg)
}

// newListener is New consuming from src.
func newListener(sh *transportx.Shared, src intake.Source, cfg Config) (*Listener, error) {
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
	if cfg.Priorities, err = transportx.NormalizePriorities(cfg.Priorities); err != nil {
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
	l := &Listener{
		cfg: cfg, log: log, priorities: prios,
		topo:      declarations(sh.Topology(), cfg.Exchange, cfg.Targets, cfg.Priorities, cfg.Pool),
		prefetch:  prefetch,
		batchSize: batchSize,
		attempts:  newAttemptCounter(attemptsTracked),
	}
	icfg := intake.Config[*item]{
		Name:        "listener",
		Source:      src,
		Policy:      intake.AckAfterHandling,
		MaxBodySize: cfg.MaxBodySize, // DefaultMaxBodySize when not positive
		Decode:      decodeItem,
		UniqueID:    itemUniqueID,
		Duplicates:  cfg.Duplicates,
		Screen:      l.screen,
		Handle:      l.handle,
		Noun:        "notification",
		Describe:    describeItem,
		Executor:    exec,
		Logger:      log,
	}
	if cfg.Observe != nil {
		icfg.Observe = func(v intake.Verdict) { cfg.Observe(v.String()) }
	}
	if cfg.Batch != nil {
		icfg.Handle = nil
		icfg.Batch = &intake.Batch[*item]{Size: batchSize, Timeout: cfg.Batch.Timeout, Handle: l.handleBatch}
	}
	if l.in, err = intake.New(icfg); err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	return l, nil
}

// Queues are the queues the listener consumes.
func (l *Listener) Queues() []string { return append([]string(nil), l.topo.queues...) }

// State is what the listener's consumer is doing (consuming, reconnecting
// after a lost session, ...): starting before Start, stopped after
// Shutdown.
func (l *Listener) State() transport.ConsumerState { return l.in.State() }

// Start declares the queues, starts consuming and returns once the
// consumer is ready (or ctx ends). Call it once.
func (l *Listener) Start(ctx context.Context) error {
	name := "notify-" + l.cfg.Targets[0].Topic
	if l.cfg.Pool != "" {
		name += "-" + l.cfg.Pool
	}
	if err := l.in.Start(ctx, rabbit.ConsumeSpec{
		Name:     name,
		Declare:  l.topo.decl,
		Queues:   l.topo.queues,
		Prefetch: l.prefetch,
	}); err != nil {
		return err
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
func (l *Listener) Shutdown(ctx context.Context) error { return l.in.Shutdown(ctx) }
