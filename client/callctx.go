package client

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of one call in flight, in place of a
// context.WithTimeoutCause per call: the values of the caller's context,
// ended by the call's timeout (cause *TimeoutError) or when the caller's
// context ends (its cause). It lives in the call's pooled pending, so its
// timer and its channel (unless closed) are reused from call to call.
//
// Its Err is context.DeadlineExceeded or context.Canceled; context.Cause
// of it is its Err too (its values come through context.WithoutCancel), so
// the call asks cause() for the *TimeoutError.
type callCtx struct {
	values   context.Context // context.WithoutCancel(parent)
	deadline time.Time
	msgID    string
	done     chan struct{} // replaced only once closed

	mu      sync.Mutex
	running bool
	gen     uint64 // which call the parent's callback belongs to
	err     error  // Err once done
	why     error  // cause once done
	timer   *time.Timer
	timerID uint64      // the current timer's: a stale firing of an old one is ignored
	stop    func() bool // stops the callback on the parent's end
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *callCtx) Done() <-chan struct{}       { return c.done }
func (c *callCtx) Value(k any) any             { return c.values.Value(k) }

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// cause is why the call's context ended (nil while it runs).
func (c *callCtx) cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// orCause is err, or the cause if the context ended: a failure while
// waiting for the reply queue or publishing is then the call's timeout.
func (c *callCtx) orCause(err error) error {
	if why := c.cause(); why != nil {
		return why
	}
	return err
}

// start begins a call of msgID under parent, ending in timeout.
func (c *callCtx) start(parent context.Context, timeout time.Duration, msgID string) {
	values := context.WithoutCancel(parent)
	deadline := time.Now().Add(timeout)
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.mu.Lock()
	c.values, c.deadline, c.msgID = values, deadline, msgID
	if c.done == nil || c.err != nil {
		c.done = make(chan struct{})
	}
	c.err, c.why, c.running = nil, nil, true
	c.gen++
	gen := c.gen
	if c.timer == nil {
		c.timerID++
		id := c.timerID
		c.timer = time.AfterFunc(timeout, func() { c.expire(id) })
	} else {
		c.timer.Reset(timeout)
	}
	c.mu.Unlock()
	if parent.Done() != nil {
		c.stop = context.AfterFunc(parent, func() { c.end(gen, parent.Err(), context.Cause(parent)) })
	}
}

// finish ends the call: its timer and the parent's callback stopped.
func (c *callCtx) finish() {
	if c.stop != nil {
		c.stop()
		c.stop = nil
	}
	c.mu.Lock()
	c.running = false
	if !c.timer.Stop() { // fired, or firing: the next call gets a new timer
		c.timer = nil
		c.timerID++
	}
	c.values = nil
	c.mu.Unlock()
}

func (c *callCtx) expire(timerID uint64) {
	c.mu.Lock()
	ok, gen, id := c.timerID == timerID, c.gen, c.msgID
	c.mu.Unlock()
	if ok {
		c.end(gen, context.DeadlineExceeded, &TimeoutError{MsgID: id})
	}
}

// end ends call gen's context with err and cause why, once.
func (c *callCtx) end(gen uint64, err, why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running || c.gen != gen || c.err != nil {
		return
	}
	c.err, c.why = err, why
	close(c.done)
}
