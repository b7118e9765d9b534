package bench

import (
	"context"
	"sync"
	"time"
)

// job is one open-loop call: its scheduled send time and whether it falls
// in the measured window.
type job struct {
	at       time.Time
	measured bool
}

// scheduledAt is the send time of call i of a schedule of rate calls per
// second starting at start. Computed from i (not by adding intervals) so
// that rounding does not drift.
func scheduledAt(start time.Time, rate float64, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// openLoop sends calls on a fixed schedule. For each call it first takes
// one of MaxInFlight slots, then sleeps until the scheduled time (at once
// when late), then hands the call to an idle worker or starts a new one.
// A late call keeps its scheduled time, so its wait counts in its latency.
// In duration mode, once the window has ended the calls not yet sent are
// counted as Unsent.
func (r *run) openLoop(ctx context.Context) {
	slots := make(chan struct{}, r.cfg.MaxInFlight)
	jobs := make(chan job)
	var wg sync.WaitGroup
	workers := 0
	var measured int64
	for i := int64(0); ; i++ {
		j := job{at: scheduledAt(r.start, r.cfg.Rate, i)}
		j.measured = !j.at.Before(r.t0)
		if j.measured && (r.cfg.Count > 0 && measured >= int64(r.cfg.Count) ||
			r.cfg.Count == 0 && !j.at.Before(r.end)) {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil || r.clock.SleepUntil(ctx, j.at) != nil {
			break
		}
		if r.cfg.Count == 0 && !r.clock.Now().Before(r.end) {
			<-slots
			r.unsent = r.countUnsent(i)
			break
		}
		if j.measured {
			measured++
		}
		select {
		case jobs <- j:
		default:
			if workers < r.cfg.MaxInFlight {
				workers++
				rec := r.newRecorder()
				wg.Go(func() { r.openWorker(ctx, rec, j, jobs, slots) })
				continue
			}
			jobs <- j // a worker is about to be idle: it gave its slot back
		}
	}
	close(jobs)
	wg.Wait()
}

// countUnsent counts the measured calls from call i on scheduled before
// the end of the window.
func (r *run) countUnsent(i int64) int64 {
	var n int64
	for ; ; i++ {
		at := scheduledAt(r.start, r.cfg.Rate, i)
		if !at.Before(r.end) {
			return n
		}
		if !at.Before(r.t0) {
			n++
		}
	}
}

// openWorker makes the call j, then those it receives on jobs until jobs
// is closed, giving a slot back after each.
func (r *run) openWorker(ctx context.Context, rec *recorder, j job, jobs <-chan job, slots <-chan struct{}) {
	for {
		if ctx.Err() == nil {
			r.inFlight.Add(1)
			err := r.call(ctx)
			e := r.clock.Now()
			r.inFlight.Add(-1)
			if ctx.Err() == nil {
				r.record(rec, j.measured, e.Sub(j.at), e, err)
			}
		}
		<-slots
		var ok bool
		if j, ok = <-jobs; !ok {
			return
		}
	}
}
