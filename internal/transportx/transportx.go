// Package transportx is what the client, server and listener packages and
// the host see of a transport.Transport beyond its public methods: the
// broker connection, the rabbit options, the control exchange, and values
// that live as long as the transport (the client's reply queue, the
// notification queues it declared).
//
// Package transport imports this one and registers how to reach a
// Transport's Shared (Register), so that this package need not name the
// public type.
package transportx

import (
	"errors"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// ErrClosed is returned by Value once the transport is closed.
var ErrClosed = errors.New("transport closed")

// Shared is the state of one transport.
type Shared struct {
	Conn     *rabbit.Conn
	Options  rabbit.Options
	Exchange string       // control exchange, never empty
	Log      hclog.Logger // never nil
	// OwnsConn makes Close close Conn (false when the host wraps its own).
	OwnsConn bool

	mu     sync.Mutex
	closed bool
	values map[any]any
	stops  []func()
}

// NewShared fills in the defaults of a Shared.
func NewShared(conn *rabbit.Conn, o rabbit.Options, exchange string, log hclog.Logger, owns bool) *Shared {
	if exchange == "" {
		exchange = oslo.DefaultControlExchange
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Shared{Conn: conn, Options: o, Exchange: exchange, Log: log, OwnsConn: owns}
}

// Topology is how the transport's options shape declarations.
func (s *Shared) Topology() rabbit.Topology { return rabbit.TopologyFrom(s.Options) }

// Value returns the value kept under key, making it with mk on first use;
// stop (if not nil) runs when the transport closes. ErrClosed after Close.
func (s *Shared) Value(key any, mk func() (v any, stop func())) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if v, ok := s.values[key]; ok {
		return v, nil
	}
	v, stop := mk()
	if s.values == nil {
		s.values = map[any]any{}
	}
	s.values[key] = v
	if stop != nil {
		s.stops = append(s.stops, stop)
	}
	return v, nil
}

// Closed reports whether Close was called.
func (s *Shared) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops the values (last made first), then closes the connection if
// the transport owns it. Idempotent.
func (s *Shared) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	stops := s.stops
	s.mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	if s.OwnsConn && s.Conn != nil {
		return s.Conn.Close()
	}
	return nil
}

var (
	of   func(t any) *Shared
	wrap func(s *Shared) any
)

// Register is called once, by package transport: of returns the Shared of
// a *transport.Transport, wrap makes a *transport.Transport around one.
func Register(ofFn func(t any) *Shared, wrapFn func(s *Shared) any) { of, wrap = ofFn, wrapFn }

// Of returns the Shared of t, a *transport.Transport; nil for a nil t.
func Of(t any) *Shared { return of(t) }

// Wrap returns a *transport.Transport (as any) around s: the host shares
// its own connection this way.
func Wrap(s *Shared) any { return wrap(s) }
