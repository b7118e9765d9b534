package intake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// ErrStarted is Start's error on an intake started before.
var ErrStarted = errors.New("already started")

// Msg is one decoded message with its delivery, as the handler gets it.
type Msg[M any] struct {
	Message  M
	Delivery amqp.Delivery
	// Received is when the consumer handed the delivery to the intake.
	Received time.Time
}

// TTL is the delivery's time to live (its expiration; 0 when it has
// none): the broker delivers no copy of it after that. A call's is its
// caller's timeout.
func (m *Msg[M]) TTL() time.Duration { return expiration(&m.Delivery) }

// Config configures an Intake of messages of type M.
type Config[M any] struct {
	// Name prefixes the errors of Start and Shutdown ("server calc").
	Name string
	// Source gives the deliveries.
	Source Source
	Policy Policy
	// MaxBodySize bounds bodies, before and after decompression
	// (oslo.DefaultMaxMessageSize when not positive).
	MaxBodySize int
	// Decode turns a checked body (decompressed, application/json) into a
	// message. Required.
	Decode func(d *amqp.Delivery, body []byte) (M, error)
	// UniqueID is the message's _unique_id, for the duplicate window.
	// Required.
	UniqueID func(M) string
	// Duplicates is the duplicate window (dedup defaults when nil).
	Duplicates DuplicateWindow
	// Screen, when set, decides on the consumer's goroutine whether a
	// decoded, non-duplicate message goes to the handler; one it keeps
	// back is acked and recorded as handled.
	Screen func(d *amqp.Delivery, m M) bool
	// Refused, when set, is told of each delivery refused before it was
	// decoded (after it was rejected without requeue) with what could be
	// read of its body (nil when it did not decompress), instead of the
	// intake logging "dropping malformed <Noun>". It may call Go.
	Refused func(d *amqp.Delivery, body []byte, err error)
	// Handle runs a message on an executor worker; ctx ends when Shutdown
	// gives up waiting. Required unless Batch is set.
	Handle func(ctx context.Context, m *Msg[M]) Verdict
	// Batch turns on batch handling (AckAfterHandling only).
	Batch *Batch[M]
	// Observe, when set, is told of every verdict settled under
	// AckAfterHandling and of every refused delivery (Dropped). It must
	// not block.
	Observe func(Verdict)
	// Noun names the messages in log lines ("ignoring duplicate message").
	Noun string
	// Describe, when set, gives a message's log fields (as key, value
	// pairs) for the log lines about it; it runs only when one is written.
	Describe func(M) []any
	// Executor runs the handler; Shutdown shuts it down. Required.
	Executor executors.Executor
	Logger   hclog.Logger
}

// Intake consumes, checks, decodes and deduplicates deliveries and hands
// them to an executor under its Policy. Safe for concurrent use; Start
// once, Shutdown is idempotent.
type Intake[M any] struct {
	cfg   Config[M]
	log   hclog.Logger
	dups  DuplicateWindow
	batch *batcher[*Msg[M]]
	// Log lines, made once.
	dupLine, malformedLine, ackLine, requeueLine string

	mu       sync.Mutex
	started  bool
	stopping bool
	consumer Consumer
	inflight sync.WaitGroup // messages taken and not yet settled, and Go's work
	released chan struct{}  // closed when deliveries held at shutdown may go back
	shut     chan struct{}  // closed when the first Shutdown returns
	hardCtx  context.Context
	hardStop context.CancelFunc
}

// New returns an Intake of cfg; Start begins consuming.
func New[M any](cfg Config[M]) (*Intake[M], error) {
	switch {
	case cfg.Source == nil || cfg.Executor == nil || cfg.Decode == nil || cfg.UniqueID == nil:
		return nil, errors.New("intake: a Source, an Executor, Decode and UniqueID are required")
	case cfg.Batch == nil && cfg.Handle == nil:
		return nil, errors.New("intake: Handle is required")
	case cfg.Batch != nil && (cfg.Policy != AckAfterHandling || cfg.Batch.Handle == nil):
		return nil, errors.New("intake: a Batch needs AckAfterHandling and a Batch.Handle")
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = oslo.DefaultMaxMessageSize
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Name == "" {
		cfg.Name = "intake"
	}
	if cfg.Noun == "" {
		cfg.Noun = "message"
	}
	dups := cfg.Duplicates
	if dups == nil {
		dups = dedup.New(0, 0)
	}
	hard, stop := context.WithCancel(context.Background())
	in := &Intake[M]{
		cfg: cfg, log: cfg.Logger, dups: dups,
		dupLine:       "ignoring duplicate " + cfg.Noun,
		malformedLine: "dropping malformed " + cfg.Noun,
		released:      make(chan struct{}),
		shut:          make(chan struct{}),
		hardCtx:       hard, hardStop: stop,
	}
	if cfg.Policy == AckOnReceipt {
		in.ackLine = "ack failed, " + cfg.Noun + " discarded"
	} else {
		in.ackLine = "ack failed; the broker will deliver the " + cfg.Noun + " again"
		in.requeueLine = "requeue failed; the broker will deliver the " + cfg.Noun + " again"
	}
	if b := cfg.Batch; b != nil {
		in.batch = newBatcher(b.Size, b.Timeout, in.dispatchBatch)
	}
	return in, nil
}

// Start starts consuming what spec names (Name, Declare, Queues,
// Prefetch, DeleteOnStop; BatchAcks is the policy's and Args the
// Source's) and returns once the consumer is ready, failed for good, or
// ctx ends (then it is stopped).
func (in *Intake[M]) Start(ctx context.Context, spec rabbit.ConsumeSpec) error {
	in.mu.Lock()
	if in.started {
		in.mu.Unlock()
		return fmt.Errorf("%s: %w", in.cfg.Name, ErrStarted)
	}
	in.started = true
	in.mu.Unlock()
	// Under AckOnReceipt the workers ack at once as they start: their
	// acks coalesce.
	spec.BatchAcks = in.cfg.Policy == AckOnReceipt
	c := in.cfg.Source.Consume(spec, in.deliver)
	in.mu.Lock()
	in.consumer = c
	in.mu.Unlock()
	if err := c.WaitReady(ctx); err != nil {
		return fmt.Errorf("%s: start: %w", in.cfg.Name, err)
	}
	return nil
}

// State is the consumer's state: starting before Start, stopped after
// Shutdown.
func (in *Intake[M]) State() rabbit.ConsumerState {
	in.mu.Lock()
	c := in.consumer
	in.mu.Unlock()
	if c == nil {
		return rabbit.ConsumerState{State: rabbit.ConsumerStarting}
	}
	return c.State()
}

// Go runs f on a goroutine of its own that Shutdown waits for, with the
// context that ends when Shutdown gives up waiting: for work a Refused
// hook starts (a failure reply).
func (in *Intake[M]) Go(f func(ctx context.Context)) {
	in.mu.Lock()
	if in.stopping && in.cfg.Policy == AckAfterHandling {
		// The drain may be waiting already: no new work for it.
		in.mu.Unlock()
		f(in.hardCtx)
		return
	}
	in.inflight.Add(1)
	in.mu.Unlock()
	go func() {
		defer in.inflight.Done()
		f(in.hardCtx)
	}()
}

// Shutdown stops taking messages, waits until the messages being handled
// are settled or ctx ends (then the handlers' ctx is cancelled), stops the
// consumer and shuts the executor down, in the order of the policy (see
// the package doc). Idempotent: a later call waits for the first.
func (in *Intake[M]) Shutdown(ctx context.Context) error {
	in.mu.Lock()
	c := in.consumer
	already := in.stopping
	if c != nil {
		in.stopping = true
	}
	in.mu.Unlock()
	if c == nil {
		return nil
	}
	if already {
		select {
		case <-in.shut:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("%s: shutdown: %w", in.cfg.Name, context.Cause(ctx))
		}
	}
	defer close(in.shut)
	var err error
	if in.cfg.Policy == AckOnReceipt {
		err = in.stopThenDrain(ctx, c)
	} else {
		err = in.drainThenStop(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("%s: shutdown: %w", in.cfg.Name, err)
	}
	return nil
}

// stopThenDrain is AckOnReceipt's shutdown: the running messages are
// acked already, so the consumer stops first (what it has not handed out
// goes back), then the executor drains.
func (in *Intake[M]) stopThenDrain(ctx context.Context, c Consumer) error {
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop(ctx) }()
	var err error
	select {
	case err = <-stopped:
	case <-ctx.Done():
		in.hardStop()
		err = <-stopped
	}
	if e := in.cfg.Executor.Shutdown(ctx); e != nil && err == nil {
		err = e
	}
	if err != nil {
		in.hardStop()
	}
	in.inflight.Wait()
	in.hardStop()
	return err
}

// drainThenStop is AckAfterHandling's shutdown: the running messages are
// settled while the channel is still open, so that their acks reach the
// broker; deliveries that come meanwhile are held (see deliver) and given
// back once the drain is over.
func (in *Intake[M]) drainThenStop(ctx context.Context, c Consumer) error {
	if in.batch != nil {
		in.batch.flush()
	}
	var err error
	drained := make(chan struct{})
	go func() {
		in.inflight.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-ctx.Done():
		err = context.Cause(ctx)
		in.hardStop()
	}
	close(in.released)
	if e := c.Stop(ctx); e != nil && err == nil {
		err = e
	}
	if e := in.cfg.Executor.Shutdown(ctx); e != nil && err == nil {
		err = e
	}
	in.hardStop()
	<-drained
	return err
}
