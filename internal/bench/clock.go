package bench

import (
	"context"
	"time"
)

// Clock is the time source of a run. The zero Config uses the real clock;
// tests use a fake one. Implementations must be safe for concurrent use.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once Now() >= t, or with ctx's error when ctx
	// ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// realClock is the wall clock (with Go's monotonic readings).
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
