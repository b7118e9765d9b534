package rabbit

import (
	"sync"
	"time"
)

// Consumer states, ConsumerState.State.
const (
	// ConsumerStarting: declaring and consuming for the first time.
	ConsumerStarting = "starting"
	// ConsumerConsuming: every queue is being consumed.
	ConsumerConsuming = "consuming"
	// ConsumerReconnecting: consuming was lost (channel or connection
	// closed, broker cancel) and the consumer is setting up again.
	ConsumerReconnecting = "reconnecting"
	// ConsumerFailed: the first setup failed for good (see Failed).
	ConsumerFailed = "failed"
	// ConsumerStopped: Stop was called, or the Conn closed.
	ConsumerStopped = "stopped"
)

// ConsumerState is what a consumer is doing, for status pages, readiness
// and metrics.
type ConsumerState struct {
	State string
	// Since is when the consumer entered State: for reconnecting, when
	// consuming was lost (not the last attempt).
	Since time.Time
	// LastError is why the last session ended or the last attempt failed
	// (nil before any); kept after the consumer consumes again.
	LastError error
	// Attempts counts the failed setup attempts since Since.
	Attempts int
}

// Ready reports whether the consumer is consuming.
func (s ConsumerState) Ready() bool { return s.State == ConsumerConsuming }

// consumerState holds a Consumer's state. Safe for concurrent use.
type consumerState struct {
	mu sync.Mutex
	st ConsumerState
}

func newConsumerState(now time.Time) *consumerState {
	return &consumerState{st: ConsumerState{State: ConsumerStarting, Since: now}}
}

func (c *consumerState) get() ConsumerState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// consuming records that the consumer consumes from now; resumed is how
// long it had been reconnecting (0 when it was not) and attempts the
// attempts that failed meanwhile.
func (c *consumerState) consuming(now time.Time) (resumed time.Duration, attempts int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.State == ConsumerReconnecting {
		resumed, attempts = now.Sub(c.st.Since), c.st.Attempts
	}
	c.st.State, c.st.Since, c.st.Attempts = ConsumerConsuming, now, 0
	return resumed, attempts
}

// down records a session that ended with err (consumed: it had got as far
// as consuming) or an attempt that failed with it.
func (c *consumerState) down(now time.Time, consumed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.LastError = err
	switch {
	case c.st.State == ConsumerConsuming || consumed:
		c.st.State, c.st.Since, c.st.Attempts = ConsumerReconnecting, now, 0
	case c.st.State == ConsumerStarting || c.st.State == ConsumerReconnecting:
		c.st.Attempts++
	}
}

// end records that the consumer stopped: failed when err is set, else
// stopped (a failed consumer stays failed).
func (c *consumerState) end(now time.Time, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil:
		c.st.State, c.st.Since, c.st.LastError = ConsumerFailed, now, err
	case c.st.State != ConsumerFailed:
		c.st.State, c.st.Since = ConsumerStopped, now
	}
}
