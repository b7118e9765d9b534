package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/transport"
)

// Config configures a Transport: [transport.Config].
type Config = transport.Config

// Transport is the shared broker connection: [transport.Transport]. Every
// client made on it shares one reply queue (created by the first call),
// and its notifiers one record of the queues declared.
type Transport = transport.Transport

// Dial connects to the broker: [transport.Dial].
func Dial(ctx context.Context, cfg Config) (*Transport, error) { return transport.Dial(ctx, cfg) }

// shared is the state of t that clients and notifiers use (nil for a nil
// t, which is an error only once used).
func shared(t *Transport) *transportx.Shared { return transportx.Of(t) }

// Keys of the values a transport keeps for this package.
type (
	replyKey       struct{}
	notifyQueueKey struct{}
)

// replies returns the reply waiter of s, starting it on first use.
func replies(ctx context.Context, s *transportx.Shared) (*replyWaiter, error) {
	v, err := s.Value(replyKey{}, func() (any, func()) {
		namer := s.Options.Namer(func(err error) {
			s.Log.Warn("queue manager unavailable; naming the reply queue at random", "error", err)
		})
		w := startReplyWaiter(s.Conn, s.Topology(), namer, s.Log)
		return w, w.stop
	})
	if err != nil {
		return nil, err
	}
	w := v.(*replyWaiter)
	if err := w.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("reply queue: %w", err)
	}
	return w, nil
}

// notifyQueues returns the notification queues s declared.
func notifyQueues(s *transportx.Shared) (*declaredQueues, error) {
	v, err := s.Value(notifyQueueKey{}, func() (any, func()) { return &declaredQueues{}, nil })
	if err != nil {
		return nil, err
	}
	return v.(*declaredQueues), nil
}

// publishError maps a publish failure to the errors of this package.
func publishError(ctx context.Context, err error) error {
	if err == nil {
		return nil // before ret: it escapes, an allocation per call
	}
	var ret *rabbit.ReturnedError
	switch {
	case errors.As(err, &ret):
		return fmt.Errorf("%w: %s", ErrUndeliverable, ret.Text)
	case errors.Is(err, rabbit.ErrClosed):
		return ErrClosed
	case ctx.Err() != nil:
		return err
	default:
		return fmt.Errorf("%w: %w", ErrDeliveryFailure, err)
	}
}

var errNotReady = errors.New("reply consumer not ready")
