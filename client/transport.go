package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
)

// Config configures a Transport.
type Config struct {
	// URL is an oslo transport_url, e.g.
	// "rabbit://user:pass@h1:5672,h2:5672/vhost?amqp_durable_queues=true".
	URL string
	// ControlExchange is the default exchange ("openstack" when empty).
	ControlExchange string
	// Logger receives connection events; silent when nil.
	Logger hclog.Logger
	// Name shows in the broker's connection name.
	Name string
}

// Transport is a broker connection with one reply queue shared by every
// call made through it (created by the first call). It reconnects by
// itself. Safe for concurrent use; Close is idempotent.
type Transport struct {
	conn     *rabbit.Conn
	url      *rabbit.URL
	exchange string
	log      hclog.Logger

	mu     sync.Mutex
	waiter *replyWaiter
	closed bool

	notifyQueues declaredQueues // notification queues declared (notifier.go)
}

// Dial connects to the broker, waiting until connected or ctx ends. The
// URL's [oslo_messaging_rabbit] options are checked first (Options.Validate).
// A login or virtual host the broker refuses (403 ACCESS_REFUSED, 530
// NOT_ALLOWED) fails it at the first attempt, with the reason: trying
// again cannot help.
func Dial(ctx context.Context, cfg Config) (*Transport, error) {
	u, err := rabbit.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("transport url: %w", err)
	}
	if err := u.Options.Validate(); err != nil {
		// The combinations oslo refuses, and the options oslohost does
		// not honour, by name.
		return nil, fmt.Errorf("transport options: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	name := cfg.Name
	if name == "" {
		name = "client"
	}
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: name, Logger: log.Named("rabbit")})
	if err != nil {
		return nil, err
	}
	return NewTransport(conn, u.Options, cfg.ControlExchange, log), nil
}

// NewTransport wraps an existing connection (the host shares its own).
func NewTransport(conn *rabbit.Conn, o rabbit.Options, controlExchange string, log hclog.Logger) *Transport {
	if controlExchange == "" {
		controlExchange = "openstack"
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Transport{conn: conn, url: &rabbit.URL{Options: o}, exchange: controlExchange, log: log}
}

// Close stops the reply consumer and closes the connection. The reply
// queue is left to expire, as oslo does.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	w := t.waiter
	t.mu.Unlock()
	if w != nil {
		w.stop()
	}
	return t.conn.Close()
}

// replies returns the reply waiter, starting it on first use.
func (t *Transport) replies(ctx context.Context) (*replyWaiter, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, ErrClosed
	}
	w := t.waiter
	if w == nil {
		namer := t.url.Options.Namer(func(err error) {
			t.log.Warn("queue manager unavailable; naming the reply queue at random", "error", err)
		})
		w = startReplyWaiter(t.conn, rabbit.TopologyFrom(t.url.Options), namer, t.log)
		t.waiter = w
	}
	t.mu.Unlock()
	if err := w.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("reply queue: %w", err)
	}
	return w, nil
}

func (t *Transport) topology() rabbit.Topology { return rabbit.TopologyFrom(t.url.Options) }

var errNotReady = errors.New("reply consumer not ready")
