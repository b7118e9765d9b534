package rabbit

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
)

// ErrClosed is returned by operations on a Conn after Close.
var ErrClosed = errors.New("rabbit: connection closed")

// Config configures a Conn.
type Config struct {
	URL *URL
	// Name is the purpose shown in the broker's connection_name
	// ("<program>:<pid>:<name>:<uuid>").
	Name string
	// Logger receives connection events; silent when nil.
	Logger hclog.Logger
	// TLS overrides the TLS configuration derived from the URL options.
	TLS *tls.Config
	// Dial overrides how TCP connections are made (tests put a fault proxy
	// in the path with it); nil dials directly with a 10 s timeout.
	Dial func(network, addr string) (net.Conn, error)
	// OnConnect, when set, is called after each successful (re)connection
	// with its generation (1 for the first connection).
	OnConnect func(generation uint64)
	// OnDown, when set, is called with the reason whenever an attempt to
	// connect fails or the connection is lost.
	OnDown func(err error)
	// RetryRefused keeps Dial trying when the broker refuses the login or
	// the virtual host, as a long-running service may (the user may be
	// created later). Without it such a refusal ([Permanent]) at the first
	// connection fails Dial at once: trying again cannot help.
	RetryRefused bool
}

// Permanent reports whether err, a failed attempt to connect, fails again
// the same way however often it is tried: the broker refused the login
// (403 ACCESS_REFUSED) or the virtual host (530 NOT_ALLOWED).
func Permanent(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed)
}

// refusal explains a [Permanent] error.
func refusal(err error) string {
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotAllowed {
		return "the broker refused the virtual host (check the URL's path and the user's permissions)"
	}
	return "the broker refused the login (check the user and password of the URL)"
}

// Conn is a RabbitMQ connection that reconnects by itself: when the broker
// closes it or the TCP path dies (detected by AMQP heartbeats) it dials the
// configured hosts again in turn with exponential backoff and jitter, and
// every Consumer started on it redeclares its topology and resumes.
// Publishing is in confirm mode: messages to the default exchange (replies)
// share one channel, published back to back; others take a pooled channel.
//
// A Conn is safe for concurrent use. Close is idempotent.
type Conn struct {
	cfg Config
	log hclog.Logger
	tls *tls.Config

	mu    sync.Mutex
	conn  *amqp.Connection
	gen   uint64        // increments with every new connection
	ready chan struct{} // closed while conn is up
	// lastErr is the last failed attempt to connect, for Dial's error.
	lastErr error
	// refused is closed when the broker refused the first connection for
	// good (see Config.RetryRefused).
	refused chan struct{}

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	pub *publisherPool
	// wire is the socket of the connection dialed last (see wire.go).
	wire *wire

	// host is the index in the URL's hosts of the current connection's
	// node; avoid, when >= 0, one the next dial skips (see failover).
	host, avoid int
}

// Dial starts a Conn and waits until it is connected or ctx ends. Once
// connected it stays usable across broker outages until Close.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.URL == nil || len(cfg.URL.Hosts) == 0 {
		return nil, errors.New("rabbit: no broker host")
	}
	c := &Conn{
		cfg:     cfg,
		log:     cfg.Logger,
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
		refused: make(chan struct{}),
		avoid:   -1,
	}
	if c.log == nil {
		c.log = hclog.NewNullLogger()
	}
	if cfg.TLS != nil {
		c.tls = cfg.TLS
	} else if cfg.URL.Options.SSL {
		t, err := cfg.URL.Options.TLSConfig()
		if err != nil {
			return nil, err
		}
		c.tls = t
	}
	c.pub = newPublisherPool(c, 16)
	c.wg.Add(1)
	go c.supervise()
	select {
	case <-c.ready:
		return c, nil
	case <-c.refused:
		c.Close()
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL.Redacted(), last)
	case <-ctx.Done():
		c.Close()
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		if last != nil { // say why, not only that time ran out
			return nil, fmt.Errorf("connect to %s: %w (last attempt: %v)", cfg.URL.Redacted(), context.Cause(ctx), last)
		}
		return nil, fmt.Errorf("connect to %s: %w", cfg.URL.Redacted(), context.Cause(ctx))
	}
}

// Close closes the connection and stops reconnecting. Consumers should be
// stopped first; their deliveries end when the connection closes.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.mu.Lock()
		conn := c.conn
		c.mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	})
	c.wg.Wait()
	return nil
}

// Connected reports whether the connection is up now.
func (c *Conn) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// Generation counts the connections made so far: 0 before the first,
// and it grows with every reconnect. Anything declared on the broker for
// generation g may be gone in a later one (the broker may have restarted).
// Safe for concurrent use.
func (c *Conn) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// current waits until a connection is up and returns it with its generation.
func (c *Conn) current(ctx context.Context) (*amqp.Connection, uint64, error) {
	for {
		c.mu.Lock()
		conn, gen, ready := c.conn, c.gen, c.ready
		c.mu.Unlock()
		if conn != nil && !conn.IsClosed() {
			return conn, gen, nil
		}
		select {
		case <-ready:
			if conn != nil { // closed but not yet noticed by supervise
				select {
				case <-c.done:
					return nil, 0, ErrClosed
				case <-ctx.Done():
					return nil, 0, context.Cause(ctx)
				case <-time.After(10 * time.Millisecond):
				}
			}
		case <-c.done:
			return nil, 0, ErrClosed
		case <-ctx.Done():
			return nil, 0, context.Cause(ctx)
		}
	}
}

// Channel opens a channel on the current connection, waiting for one to
// be up. The generation tells which connection it belongs to.
func (c *Conn) Channel(ctx context.Context) (*amqp.Channel, uint64, error) {
	for {
		conn, gen, err := c.current(ctx)
		if err != nil {
			return nil, 0, err
		}
		ch, err := conn.Channel()
		if err == nil {
			return ch, gen, nil
		}
		if !conn.IsClosed() {
			return nil, 0, fmt.Errorf("open channel: %w", err)
		}
		// The connection died under us: wait for the next one.
		c.markDown(conn)
	}
}

// supervise keeps a connection up until Close.
func (c *Conn) supervise() {
	defer c.wg.Done()
	b := newBackoff(c.cfg.URL.Options)
	hosts := newHostRing(c.cfg.URL.Hosts, c.cfg.URL.Options.FailoverStrategy)
	for {
		c.mu.Lock()
		i := hosts.nextAvoiding(c.avoid)
		c.avoid = -1
		c.mu.Unlock()
		conn, host, err := c.dialOnce(i)
		if err != nil {
			if Permanent(err) {
				err = fmt.Errorf("%s: %w", refusal(err), err)
			}
			c.mu.Lock()
			c.lastErr = err
			first := c.gen == 0
			c.mu.Unlock()
			if c.cfg.OnDown != nil {
				c.cfg.OnDown(err)
			}
			if first && !c.cfg.RetryRefused && Permanent(err) {
				close(c.refused)
				return
			}
			wait := b.next()
			c.log.Warn("broker connection failed", "host", host, "error", err, "retry_in", wait.Round(time.Millisecond))
			select {
			case <-c.done:
				return
			case <-time.After(wait):
			}
			continue
		}
		b.reset()
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		c.mu.Lock()
		c.conn = conn
		c.host = i
		c.gen++
		close(c.ready)
		gen := c.gen
		c.mu.Unlock()
		c.log.Info("connected to broker", "host", host, "generation", gen)
		if c.cfg.OnConnect != nil {
			c.cfg.OnConnect(gen)
		}
	watch:
		for {
			select {
			case <-c.done:
				_ = conn.Close()
				return
			case bl := <-blocked:
				if bl.Active {
					c.log.Warn("broker blocked the connection", "reason", bl.Reason)
				} else {
					c.log.Info("broker unblocked the connection")
				}
			case e := <-closed:
				if e != nil {
					c.log.Warn("broker connection lost", "host", host, "error", e.Error())
					if c.cfg.OnDown != nil {
						c.cfg.OnDown(fmt.Errorf("connection lost: %w", e))
					}
				}
				break watch
			}
		}
		c.markDown(conn)
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// failover closes conn, if it is still the current connection and the URL
// lists other hosts, so that the Conn reconnects to another node (one the
// next dial does not take again): a consumer refused by this node (a queue
// with no replica here) may be served there. Every consumer and publisher
// of the Conn resumes on the new connection. It reports whether it closed
// conn.
func (c *Conn) failover(conn *amqp.Connection, why error, timeout time.Duration) bool {
	c.mu.Lock()
	if c.conn != conn || len(c.cfg.URL.Hosts) < 2 {
		c.mu.Unlock()
		return false
	}
	c.avoid = c.host
	h := c.cfg.URL.Hosts[c.host]
	c.mu.Unlock()
	c.log.Warn("moving to another broker node", "host", net.JoinHostPort(h.Host, fmt.Sprint(h.Port)), "reason", why)
	c.closeConn(conn, timeout)
	return true
}

// markDown forgets conn if it is still the current connection.
func (c *Conn) markDown(conn *amqp.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == conn {
		c.conn = nil
		c.ready = make(chan struct{})
	}
}

func (c *Conn) dialOnce(i int) (*amqp.Connection, string, error) {
	u := c.cfg.URL
	h := u.Hosts[i]
	addr := net.JoinHostPort(h.Host, fmt.Sprint(h.Port))
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(connectionName(c.cfg.Name))
	props["product"] = "oslohost"
	cfg := amqp.Config{
		Vhost:      u.VirtualHost,
		Heartbeat:  u.Options.HeartbeatTimeout,
		Properties: props,
		Locale:     "en_US",
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: h.User, Password: h.Password}},
	}
	dial := c.cfg.Dial
	if dial == nil {
		dial = func(network, addr string) (net.Conn, error) {
			return net.DialTimeout(network, addr, 10*time.Second)
		}
	}
	uri := u.AMQPURI(i)
	var tlsConn *readErrConn
	cfg.Dial = func(network, a string) (net.Conn, error) {
		nc, err := dial(network, a)
		if err != nil {
			return nil, err
		}
		// Bound the AMQP handshake; amqp091-go clears the deadline after it.
		_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
		if c.tls == nil || !u.Options.SSL {
			return c.newWire(nc), nil
		}
		// TLS is done here rather than by amqp091-go so that an alert the
		// broker sends after the handshake (TLS 1.3 checks the client
		// certificate then) can be reported: the library only says the
		// connection closed.
		t := c.tls.Clone()
		if t.ServerName == "" {
			t.ServerName = u.ServerName(i)
		}
		tc := tls.Client(nc, t)
		if err := tc.Handshake(); err != nil {
			_ = nc.Close()
			return nil, err
		}
		tlsConn = &readErrConn{Conn: tc}
		return c.newWire(tlsConn), nil
	}
	if c.tls != nil && u.Options.SSL {
		uri = "amqp" + strings.TrimPrefix(uri, "amqps") // TLS is done in cfg.Dial
	}
	conn, err := amqp.DialConfig(uri, cfg)
	if err != nil && tlsConn != nil {
		if rerr := tlsConn.readErr(); rerr != nil && errors.Is(err, amqp.ErrClosed) {
			err = fmt.Errorf("%w: %w", err, rerr)
		}
	}
	return conn, addr, err
}

// newWire wraps the socket of a new connection so that writes made
// together go out together (wire.go) and makes it the current one.
func (c *Conn) newWire(nc net.Conn) net.Conn {
	w := newWire(nc)
	c.mu.Lock()
	c.wire = w
	c.mu.Unlock()
	return w
}

// currentWire is the socket of the connection dialed last (nil before).
func (c *Conn) currentWire() *wire {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wire
}

// readErrConn remembers the first error reading from its connection.
type readErrConn struct {
	net.Conn
	mu    sync.Mutex
	first error
}

func (c *readErrConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.first == nil {
			c.first = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *readErrConn) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

func connectionName(purpose string) string {
	prog := filepath.Base(os.Args[0])
	if purpose != "" {
		prog += ":" + purpose
	}
	return fmt.Sprintf("%s:%d:%s", prog, os.Getpid(), oslo.NewUUID())
}
