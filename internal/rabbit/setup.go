package rabbit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultSetupTimeout bounds each step of a consumer's session setup
// (channel.open, each declaration, basic.qos, basic.consume) when
// ConsumeSpec.SetupTimeout is 0. amqp091-go waits for a method's answer
// without a limit; a broker that stops answering one channel while its
// heartbeats keep the connection alive (a stream coordinator without a
// quorum, a node still starting) would otherwise hold the consumer forever.
const DefaultSetupTimeout = 10 * time.Second

// SetupTimeoutError is a setup step the broker did not answer in time.
type SetupTimeoutError struct {
	Step  string // "basic.consume on queue \"q\"", "channel.open", …
	After time.Duration
	// ConnectionClosed is set when closing the channel did not return in
	// time either, so the connection was closed (it reconnects).
	ConnectionClosed bool
}

func (e *SetupTimeoutError) Error() string {
	s := fmt.Sprintf("%s: no answer from the broker within %s", e.Step, e.After)
	if e.ConnectionClosed {
		s += " (its channel did not close in time either: connection closed)"
	}
	return s
}

// noLocalReplica reports whether err is RabbitMQ's refusal of a stream (or
// quorum) queue that has no usable replica on the node the connection is
// on: 406 PRECONDITION_FAILED "... does not have a replica on the local
// node", or 506 RESOURCE_ERROR "... does not have a running local replica"
// (a member still starting after the node came back). The queue is fine,
// this node cannot serve it now; another node can.
func noLocalReplica(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) || (ae.Code != amqp.PreconditionFailed && ae.Code != amqp.ResourceError) {
		return false
	}
	r := strings.ToLower(ae.Reason)
	return strings.Contains(r, "replica on the local node") || strings.Contains(r, "running local replica")
}

// setup runs the steps of one consumer session's setup, each bounded by
// timeout, on one connection (conn, set by the first channel). Not safe for
// concurrent use.
type setup struct {
	c       *Conn
	ctx     context.Context // ends when the consumer stops
	timeout time.Duration
	conn    *amqp.Connection
}

// channel opens a channel on conn (the current connection at the first
// call, waiting for one without a limit: an outage is not a hung step).
func (s *setup) channel() (*amqp.Channel, error) {
	for {
		conn := s.conn
		if conn == nil {
			var err error
			if conn, _, err = s.c.current(s.ctx); err != nil {
				return nil, err
			}
		}
		var ch *amqp.Channel
		err := s.do("channel.open", conn, nil, func() error {
			var err error
			ch, err = conn.Channel()
			return err
		})
		if err == nil {
			s.conn = conn
			return ch, nil
		}
		if s.conn != nil || !conn.IsClosed() || s.ctx.Err() != nil || isSetupTimeout(err) {
			return nil, fmt.Errorf("open channel: %w", err)
		}
		// The connection died before the session used it: wait for the next.
		s.c.markDown(conn)
	}
}

func isSetupTimeout(err error) bool {
	var te *SetupTimeoutError
	return errors.As(err, &te)
}

// do runs f, one synchronous method on ch (nil for channel.open) of conn,
// and returns its error. When no answer comes within the timeout, or the
// consumer stops meanwhile, it closes ch, and if that is not answered in
// time either, conn with a deadline: either makes amqp091-go give up the
// wait, so f has returned when do returns (no goroutine left behind).
func (s *setup) do(step string, conn *amqp.Connection, ch *amqp.Channel, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	var cause error
	select {
	case err := <-done:
		return err
	case <-t.C:
		cause = &SetupTimeoutError{Step: step, After: s.timeout}
	case <-s.ctx.Done():
		cause = context.Cause(s.ctx)
	}
	if !s.closeChannel(conn, ch) {
		if te, ok := cause.(*SetupTimeoutError); ok {
			te.ConnectionClosed = true
		}
	}
	select {
	case <-done:
	case <-time.After(s.timeout):
		// Not seen with amqp091-go v1.16: a closed connection ends every
		// wait. Say so rather than hang the consumer.
		s.c.log.Error("setup step still running after its connection was closed", "step", step)
	}
	return cause
}

// closeChannel closes ch within the timeout; when ch is nil or its close
// is not answered in time it closes conn with a deadline (the Conn
// reconnects) and returns false.
func (s *setup) closeChannel(conn *amqp.Connection, ch *amqp.Channel) bool {
	if ch != nil {
		closed := make(chan struct{})
		go func() {
			_ = ch.Close()
			close(closed)
		}()
		select {
		case <-closed:
			return true
		case <-time.After(s.timeout):
		}
	}
	s.c.closeConn(conn, s.timeout)
	return false
}

// closeConn closes conn, waiting at most timeout for the broker's
// close-ok. Once it returns every channel of conn is shut down and the
// supervisor reconnects.
func (c *Conn) closeConn(conn *amqp.Connection, timeout time.Duration) {
	if conn == nil {
		return
	}
	_ = conn.CloseDeadline(time.Now().Add(timeout))
	c.markDown(conn)
}
