package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/transport"
)

// DefaultMaxBodySize bounds request bodies (after decompression).
const DefaultMaxBodySize = oslo.DefaultMaxMessageSize

// Config configures a Server. The transport it is made on gives the
// broker connection consumed and replied on and the rabbit options
// (topology flags, reply retry window, prefetch, cancel-on-failover).
type Config struct {
	// Exchange is the exchange listened on (the transport's control
	// exchange when empty), unless Target.Exchange is set.
	Exchange string
	// Target gives the topic (required) and server name (the host name
	// when empty).
	Target oslo.Target
	// NoFanout stops the server from listening on the topic's fanout
	// exchange.
	NoFanout   bool
	Dispatcher *Dispatcher
	// Executor runs dispatched calls; a pool of 64 when nil.
	Executor executors.Executor
	// Prefetch overrides the consumer prefetch; 0 means the
	// rabbit_qos_prefetch_count option if given (as oslo means it: 0 is no
	// basic.qos), else the executor capacity.
	Prefetch    int
	MaxBodySize int
	Logger      hclog.Logger
	// Observer, when set, is told about every dispatched request.
	Observer Observer
	// Duplicates is the duplicate-message window; a window of its own
	// (dedup defaults: one minute, a call for its own timeout) when nil.
	// Servers that replace one another share theirs to keep catching
	// duplicates across the change.
	Duplicates DuplicateWindow
}

// DuplicateWindow remembers the _unique_id of requests dispatched lately.
// Implementations must be safe for concurrent use.
type DuplicateWindow interface {
	// Contains reports whether id was seen (and is still remembered).
	Contains(id string) bool
	// Seen remembers id for at least ttl and reports whether it was seen
	// already.
	Seen(id string, ttl time.Duration) bool
}

// Observer receives per-call events, for metrics. Implementations must be
// safe for concurrent use and fast.
type Observer interface {
	// CallStarted is called as a request is dispatched.
	CallStarted()
	// CallFinished is called when its handler has returned: outcome is
	// "ok", "error" (the endpoint raised) or "rejected" (no such method,
	// unsupported version, bad arguments).
	CallFinished(method, outcome string, took time.Duration)
}

// Server is an oslo.messaging RPC server. Safe for concurrent use.
type Server struct {
	cfg      Config
	t        *transportx.Shared
	log      hclog.Logger
	exec     executors.Executor
	replies  *replySender
	dedup    DuplicateWindow
	consumer *rabbit.Consumer

	mu       sync.Mutex
	started  bool
	inflight sync.WaitGroup
	hardCtx  context.Context // ends when shutdown gives up waiting
	hardStop context.CancelFunc
}

// New checks cfg and returns a Server on t; Start begins serving.
func New(t *transport.Transport, cfg Config) (*Server, error) {
	sh := transportx.Of(t)
	if sh == nil || cfg.Dispatcher == nil {
		return nil, errors.New("server: a transport and a Dispatcher are required")
	}
	if cfg.Target.Topic == "" {
		return nil, errors.New("server: target has no topic")
	}
	if cfg.Target.Server == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("server: host name: %w", err)
		}
		cfg.Target.Server = h
	}
	if cfg.Exchange == "" {
		cfg.Exchange = sh.Exchange
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	exec := cfg.Executor
	if exec == nil {
		exec = executors.NewPool(64)
	}
	log := cfg.Logger.With("topic", cfg.Target.Topic, "server", cfg.Target.Server)
	dups := cfg.Duplicates
	if dups == nil {
		dups = dedup.New(0, 0)
	}
	hard, stop := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, t: sh, log: log, exec: exec,
		replies: newReplySender(sh.Conn, log, sh.Options),
		dedup:   dups,
		hardCtx: hard, hardStop: stop,
	}, nil
}

// Target is the server's target, with its server name filled in.
func (s *Server) Target() oslo.Target { return s.cfg.Target }

// plan is what the server declares and consumes (its fanout queue named
// by the queue manager with use_queue_manager, else at random). Each call
// names a new fanout queue.
func (s *Server) plan() rabbit.Plan {
	namer := s.t.Options.Namer(func(err error) {
		s.log.Warn("queue manager unavailable; naming the fanout queue at random", "error", err)
	})
	return PlanFor(s.t.Options, s.cfg, namer)
}

// PlanFor is what a server configured with cfg on a transport with
// options o declares and consumes, computed without a connection by the
// same code Start uses (for the host's topology check); unique names its
// fanout queue. An empty cfg.Exchange is oslo.DefaultControlExchange here.
func PlanFor(o rabbit.Options, cfg Config, unique func() string) rabbit.Plan {
	exchange := cfg.Exchange
	if exchange == "" {
		exchange = oslo.DefaultControlExchange
	}
	t := cfg.Target
	return rabbit.TopologyFrom(o).ServerPlan(t.ExchangeOr(exchange), t.Topic, t.Server, cfg.NoFanout, unique)
}

// Start declares the topology, starts consuming and returns once the
// consumers are ready (or ctx ends). Call it once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("server: already started")
	}
	s.started = true
	s.mu.Unlock()

	t := s.cfg.Target
	exchange := t.ExchangeOr(s.cfg.Exchange)
	plan := s.plan()
	prefetch := s.cfg.Prefetch
	if prefetch == 0 {
		prefetch = s.t.Options.ConsumerPrefetch(s.exec.Capacity())
	}
	decl, queues := plan.Declare, plan.Queues
	args, deleteOnStop := rabbit.ConsumerArgs(s.t.Options), plan.DeleteOnStop
	s.consumer = s.t.Conn.Consume(rabbit.ConsumeSpec{
		Name:         "rpc-" + t.Topic,
		Declare:      decl,
		Queues:       queues,
		Prefetch:     prefetch,
		BatchAcks:    true, // workers ack at once as they start
		Args:         args,
		DeleteOnStop: deleteOnStop,
	}, s.handleDelivery)
	if err := s.consumer.WaitReady(ctx); err != nil {
		return fmt.Errorf("server %s: start: %w", t.Topic, err)
	}
	s.log.Info("serving", "exchange", exchange, "queues", queues, "prefetch", prefetch)
	return nil
}

// Run starts the server, serves until ctx ends, then shuts down, giving
// in-flight calls up to drain to finish.
func (s *Server) Run(ctx context.Context, drain time.Duration) error {
	return rabbit.Serve(ctx, drain, s.Start, s.Shutdown)
}

// Shutdown stops taking requests (messages not yet dispatched go back to
// their queue), waits for running calls to finish and their replies to be
// sent until ctx ends (then cancels them), and deletes the fanout queue.
// Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started || s.consumer == nil {
		return nil
	}
	stopped := make(chan error, 1)
	go func() { stopped <- s.consumer.Stop(ctx) }()
	var err error
	select {
	case err = <-stopped:
	case <-ctx.Done():
		s.hardStop()
		err = <-stopped
	}
	if e := s.exec.Shutdown(ctx); e != nil && err == nil {
		err = e
	}
	if err != nil {
		s.hardStop()
	}
	s.inflight.Wait()
	s.hardStop()
	if err != nil {
		return fmt.Errorf("server %s: shutdown: %w", s.cfg.Target.Topic, err)
	}
	return nil
}

// handleDelivery runs on the consumer's goroutine for each request.
func (s *Server) handleDelivery(ctx context.Context, d amqp.Delivery) {
	received := time.Now()
	req, err := s.decode(&d)
	if errors.Is(err, oslo.ErrEnvelopeVersion) {
		// As oslo: RabbitMessage raises UnsupportedRpcEnvelopeVersion,
		// the consumer logs "Failed to process message ... skipping it."
		// and rejects it; the caller gets no reply.
		s.log.Error("Failed to process message ... skipping it.", "error", "UnsupportedRpcEnvelopeVersion: "+err.Error(),
			"routing_key", d.RoutingKey, "bytes", len(d.Body))
		_ = d.Reject(false)
		return
	}
	if err != nil {
		s.log.Warn("dropping malformed request", "error", err, "routing_key", d.RoutingKey, "bytes", len(d.Body))
		_ = d.Reject(false)
		if req != nil && req.IsCall() && req.ReplyQ != "" {
			s.inflight.Add(1)
			go func() {
				defer s.inflight.Done()
				_ = s.replies.send(s.hardCtx, req.ReplyQ, &oslo.Reply{Failure: malformedFailure(err), Ending: true, MsgID: req.MsgID, UniqueID: oslo.NewID()})
			}()
		}
		return
	}
	if s.dedup.Contains(req.UniqueID) {
		s.log.Warn("ignoring duplicate message", "unique_id", req.UniqueID, "method", req.Method)
		_ = d.Ack(false)
		return
	}
	deadline := deliveryDeadline(&d, received)
	s.inflight.Add(1)
	err = s.exec.Submit(ctx, func() {
		defer s.inflight.Done()
		// Ack as the call starts: at-most-once, like oslo (a crash from
		// here on loses the request instead of running it twice).
		if err := d.Ack(false); err != nil {
			// The broker gives the unacked message to the next session;
			// it must not be taken for a duplicate then, so it is not
			// recorded (as in oslo, whose duplicate check follows the ack).
			s.log.Warn("ack failed, request discarded", "error", err, "method", req.Method)
			return
		}
		var ttl time.Duration
		if !deadline.IsZero() {
			ttl = deadline.Sub(received)
		}
		if s.dedup.Seen(req.UniqueID, ttl) { // a copy was dispatched meanwhile
			s.log.Warn("ignoring duplicate message", "unique_id", req.UniqueID, "method", req.Method)
			return
		}
		s.dispatch(req, deadline, traceparent(&d))
	})
	if err != nil {
		s.inflight.Done()
		_ = d.Nack(false, true) // not started: back to the queue
	}
}

// traceparent is the W3C trace context header of d, "" when absent.
func traceparent(d *amqp.Delivery) string {
	tp, _ := d.Headers[tracing.TraceparentHeader].(string)
	return tp
}

// decode checks size and compression, then decodes the request. On a
// decode failure it still returns what it could read of the request, so
// the caller can be told.
func (s *Server) decode(d *amqp.Delivery) (*oslo.Request, error) {
	if len(d.Body) > s.cfg.MaxBodySize {
		req := salvage(d.Body)
		return req, fmt.Errorf("%w: body of %d bytes exceeds the limit of %d", errTooLarge, len(d.Body), s.cfg.MaxBodySize)
	}
	body, err := rabbit.JSONBody(d, s.cfg.MaxBodySize)
	if err != nil {
		if body == nil {
			return nil, err
		}
		return salvage(body), err
	}
	req, err := oslo.DecodeRequest(body)
	if err != nil {
		return salvage(body), err
	}
	return req, nil
}

var errTooLarge = errors.New("request too large")

// salvage reads the reply address of a request that cannot be served
// (wrong content type, too large), ignoring the envelope.
func salvage(body []byte) *oslo.Request {
	if req, err := oslo.DecodeRequestInner(body); err == nil && req.IsCall() {
		return req
	}
	var env struct {
		Message string `json:"oslo.message"`
	}
	if err := jsonUnmarshal(body, &env); err == nil && env.Message != "" {
		if req, err := oslo.DecodeRequestInner([]byte(env.Message)); err == nil && req.IsCall() {
			return req
		}
	}
	return nil
}

func malformedFailure(err error) *oslo.Failure {
	switch {
	case errors.Is(err, errTooLarge):
		return oslo.NewFailure(ModuleHost, "RequestTooLarge", err.Error())
	default:
		return oslo.NewFailure(ModuleHost, "MalformedRequest", err.Error())
	}
}

// deliveryDeadline is when the caller gives up: a call's expiration is its
// timeout (oslo sets it to timeout*1000 ms).
func deliveryDeadline(d *amqp.Delivery, received time.Time) time.Time {
	if d.Expiration == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(d.Expiration, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return received.Add(time.Duration(ms) * time.Millisecond)
}
