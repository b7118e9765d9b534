package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCallCtx: a call's context ends with a *TimeoutError at its timeout,
// with the parent's cause when the parent ends first, carries the
// parent's values, and is reused, timer and all, by the next call
// without a late end of the previous one reaching it.
func TestCallCtx(t *testing.T) {
	type key struct{}
	var c callCtx
	parent := context.WithValue(context.Background(), key{}, "v")

	c.start(parent, 10*time.Millisecond, "m1")
	if c.Value(key{}) != "v" {
		t.Fatal("parent's value lost")
	}
	<-c.Done()
	var te *TimeoutError
	if !errors.As(c.cause(), &te) || te.MsgID != "m1" || !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("timeout: cause %v, err %v", c.cause(), c.Err())
	}
	if !errors.Is(context.Cause(&c), context.DeadlineExceeded) {
		t.Fatalf("context.Cause: %v", context.Cause(&c))
	}
	c.finish()

	pctx, cancel := context.WithCancelCause(parent)
	c.start(pctx, time.Hour, "m2")
	if c.Err() != nil || c.cause() != nil {
		t.Fatal("a reused context starts ended")
	}
	stop := errors.New("stop")
	cancel(stop)
	<-c.Done()
	if c.cause() != stop || !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("parent's end: cause %v, err %v", c.cause(), c.Err())
	}
	c.finish()

	for i := range 200 { // a timer firing as its call finishes does not end the next
		c.start(context.Background(), time.Duration(i%3)*time.Microsecond, "m")
		time.Sleep(time.Duration(i%2) * time.Microsecond)
		c.finish()
	}
	c.start(context.Background(), time.Hour, "m3")
	time.Sleep(5 * time.Millisecond)
	select {
	case <-c.Done():
		t.Fatalf("ended by an earlier call's timer: %v", c.cause())
	default:
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("deadline %v", d)
	}
	c.finish()
}
