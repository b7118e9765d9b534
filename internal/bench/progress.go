package bench

import (
	"sync"
	"time"
)

// startProgress calls cfg.Progress about every ProgressInterval in its own
// goroutine; the returned func stops it and waits for it.
func (r *run) startProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	every := r.cfg.ProgressInterval
	if every <= 0 {
		every = DefaultProgressInterval
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		prevCalls, prevAt := int64(0), time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				calls := r.done.Load()
				p := Progress{
					Elapsed:  r.clock.Now().Sub(r.start),
					Calls:    calls,
					Errors:   r.errs.Load(),
					Timeouts: r.timeouts.Load(),
					InFlight: r.inFlight.Load(),
				}
				p.Warmup = p.Elapsed < r.cfg.Warmup
				if dt := now.Sub(prevAt).Seconds(); dt > 0 {
					p.Rate = float64(calls-prevCalls) / dt
				}
				prevCalls, prevAt = calls, now
				r.cfg.Progress(p)
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}
