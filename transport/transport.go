package transport

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
)

// Config configures a Transport.
type Config struct {
	// URL is an oslo transport_url, e.g.
	// "rabbit://user:pass@h1:5672,h2:5672/vhost?amqp_durable_queues=true".
	URL string
	// ControlExchange is the exchange of targets that name none
	// (oslo.DefaultControlExchange, "openstack", when empty).
	ControlExchange string
	// Logger receives connection events; silent when nil.
	Logger hclog.Logger
	// Name shows in the broker's connection name ("client" when empty).
	Name string
}

// Transport is one broker connection, shared by every client, notifier,
// server and listener made on it, as oslo_messaging.get_transport's is. It
// reconnects by itself. Safe for concurrent use; Close is idempotent.
type Transport struct {
	s *transportx.Shared
}

// ErrClosed is what calls made through a closed transport return.
var ErrClosed = transportx.ErrClosed

func init() {
	transportx.Register(
		func(t any) *transportx.Shared {
			if tt, _ := t.(*Transport); tt != nil {
				return tt.s
			}
			return nil
		},
		func(s *transportx.Shared) any { return &Transport{s: s} },
	)
}

// Dial connects to the broker, waiting until connected or ctx ends. The
// URL's [oslo_messaging_rabbit] options are checked first. A login or
// virtual host the broker refuses (403 ACCESS_REFUSED, 530 NOT_ALLOWED)
// fails it at the first attempt, with the reason: trying again cannot help.
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
	return &Transport{s: transportx.NewShared(conn, u.Options, cfg.ControlExchange, log, true)}, nil
}

// ControlExchange is the exchange of targets that name none.
func (t *Transport) ControlExchange() string { return t.s.Exchange }

// Close stops what was started on the transport (the clients' reply
// consumer) and closes the connection. Servers and listeners on it are
// to be shut down first. The reply queue is left to expire, as oslo does.
func (t *Transport) Close() error { return t.s.Close() }

// ConsumerState is what a server's or listener's consumer is doing: State
// is one of the Consumer* constants, Since when it entered it, LastError
// why the last session ended or attempt failed, Attempts the failed setup
// attempts since Since.
type ConsumerState = rabbit.ConsumerState

// The states of a consumer.
const (
	// ConsumerStarting: declaring and consuming for the first time.
	ConsumerStarting = rabbit.ConsumerStarting
	// ConsumerConsuming: every queue is being consumed.
	ConsumerConsuming = rabbit.ConsumerConsuming
	// ConsumerReconnecting: the session was lost; it is set up again.
	ConsumerReconnecting = rabbit.ConsumerReconnecting
	// ConsumerFailed: the first setup failed for good.
	ConsumerFailed = rabbit.ConsumerFailed
	// ConsumerStopped: stopped, or its transport closed.
	ConsumerStopped = rabbit.ConsumerStopped
)
