package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/rabbit"
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
	cfg     Config
	opts    rabbit.Options
	log     hclog.Logger
	replies *replySender
	// in is the intake: acks on receipt, then dispatch runs the request.
	in *intake.Intake[*oslo.Request]
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
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	exec := cfg.Executor
	if exec == nil {
		exec = executors.NewPool(64)
	}
	cfg.Executor = exec
	return newServer(cfg, sh.Options, intake.Rabbit{Conn: sh.Conn, Options: sh.Options}, sh.Conn.Publish)
}

// newServer is a Server of cfg (its defaults filled in) consuming from src
// and replying with publish.
func newServer(cfg Config, o rabbit.Options, src intake.Source, publish func(context.Context, rabbit.Message) error) (*Server, error) {
	log := cfg.Logger.With("topic", cfg.Target.Topic, "server", cfg.Target.Server)
	s := &Server{cfg: cfg, opts: o, log: log, replies: newReplySender(publish, log, o)}
	var err error
	s.in, err = intake.New(intake.Config[*oslo.Request]{
		Name:        "server " + cfg.Target.Topic,
		Source:      src,
		Policy:      intake.AckOnReceipt,
		MaxBodySize: cfg.MaxBodySize, // DefaultMaxBodySize when not positive
		Decode:      decodeRequest,
		UniqueID:    requestUniqueID,
		Duplicates:  cfg.Duplicates,
		Refused:     s.refused,
		Handle:      s.handle,
		Noun:        "message",
		Describe:    describeRequest,
		Executor:    cfg.Executor,
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return s, nil
}

// Target is the server's target, with its server name filled in.
func (s *Server) Target() oslo.Target { return s.cfg.Target }

// State is what the server's consumer is doing (consuming, reconnecting
// after a lost session, ...): starting before Start, stopped after
// Shutdown.
func (s *Server) State() transport.ConsumerState { return s.in.State() }

// plan is what the server declares and consumes (its fanout queue named
// by the queue manager with use_queue_manager, else at random). Each call
// names a new fanout queue.
func (s *Server) plan() rabbit.Plan {
	namer := s.opts.Namer(func(err error) {
		s.log.Warn("queue manager unavailable; naming the fanout queue at random", "error", err)
	})
	return transportx.ServerPlan(s.opts, s.cfg.Exchange, s.cfg.Target, s.cfg.NoFanout, namer)
}

// Start declares the topology, starts consuming and returns once the
// consumers are ready (or ctx ends). Call it once.
func (s *Server) Start(ctx context.Context) error {
	t := s.cfg.Target
	plan := s.plan()
	prefetch := s.cfg.Prefetch
	if prefetch == 0 {
		prefetch = s.opts.ConsumerPrefetch(s.cfg.Executor.Capacity())
	}
	if err := s.in.Start(ctx, rabbit.ConsumeSpec{
		Name:         "rpc-" + t.Topic,
		Declare:      plan.Declare,
		Queues:       plan.Queues,
		Prefetch:     prefetch,
		DeleteOnStop: plan.DeleteOnStop,
	}); err != nil {
		return err
	}
	s.log.Info("serving", "exchange", t.ExchangeOr(s.cfg.Exchange), "queues", plan.Queues, "prefetch", prefetch)
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
func (s *Server) Shutdown(ctx context.Context) error { return s.in.Shutdown(ctx) }
