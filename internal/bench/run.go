package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Run drives caller as cfg says and returns what it measured. When ctx ends
// early, Run returns the partial result (Interrupted set) with ctx's cause.
// Run may be called concurrently with different configs.
func Run(ctx context.Context, cfg Config, caller Caller) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Classify == nil {
		cfg.Classify = DefaultClassify
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Rate > 0 && cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	r := &run{cfg: cfg, call: caller, clock: cfg.Clock}
	r.start = r.clock.Now()
	r.t0 = r.start.Add(cfg.Warmup)
	r.end = r.t0.Add(cfg.Duration)

	stopProgress := r.startProgress()
	if cfg.Rate > 0 {
		r.openLoop(ctx)
	} else {
		r.closedLoop(ctx)
	}
	stopProgress()
	return r.result(ctx.Err() != nil), context.Cause(ctx)
}

// run is the state of one Run.
type run struct {
	cfg   Config
	call  Caller
	clock Clock
	// start is when the run began, t0 when the measured window begins,
	// end when it ends (duration mode).
	start, t0, end time.Time

	mu   sync.Mutex
	recs []*recorder

	// Counters for progress lines, warm-up included.
	done, errs, timeouts, inFlight atomic.Int64
	// claimed counts measured calls started (count mode).
	claimed atomic.Int64
	unsent  int64
}

// recorder holds what one worker goroutine measured; only it writes.
type recorder struct {
	samples                 []time.Duration
	calls, errors, timeouts int64
	lastEnd                 time.Time
}

func (r *run) newRecorder() *recorder {
	rec := &recorder{}
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return rec
}

// record counts one completed call; latency is only kept for measured
// successful ones.
func (r *run) record(rec *recorder, measured bool, latency time.Duration, end time.Time, err error) {
	outcome := r.cfg.Classify(err)
	switch outcome {
	case OK:
		r.done.Add(1)
	case TimedOut:
		r.timeouts.Add(1)
	default:
		r.errs.Add(1)
	}
	if !measured {
		return
	}
	if end.After(rec.lastEnd) {
		rec.lastEnd = end
	}
	switch outcome {
	case OK:
		rec.calls++
		rec.samples = append(rec.samples, latency)
	case TimedOut:
		rec.timeouts++
	default:
		rec.errors++
	}
}

// closedLoop runs Concurrency callers, each calling back-to-back.
func (r *run) closedLoop(ctx context.Context) {
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		rec := r.newRecorder()
		wg.Go(func() { r.closedCaller(ctx, rec) })
	}
	wg.Wait()
}

func (r *run) closedCaller(ctx context.Context, rec *recorder) {
	for ctx.Err() == nil {
		s := r.clock.Now()
		measured := !s.Before(r.t0)
		if measured && !r.claim(s) {
			return
		}
		r.inFlight.Add(1)
		err := r.call(ctx)
		e := r.clock.Now()
		r.inFlight.Add(-1)
		if ctx.Err() != nil {
			return // cut short by the end of the run: not counted
		}
		r.record(rec, measured, e.Sub(s), e, err)
	}
}

// claim reports whether a measured call may start at time at: within the
// window (duration mode) or within the count.
func (r *run) claim(at time.Time) bool {
	if r.cfg.Count > 0 {
		return r.claimed.Add(1) <= int64(r.cfg.Count)
	}
	return at.Before(r.end)
}

func (r *run) result(interrupted bool) *Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Result{
		Mode: r.cfg.Mode(), Rate: r.cfg.Rate, MaxInFlight: r.cfg.MaxInFlight,
		Warmup: r.cfg.Warmup, Unsent: r.unsent, Workers: len(r.recs), Interrupted: interrupted,
	}
	if res.Mode == "closed" {
		res.Concurrency = r.cfg.Concurrency
	}
	var n int
	for _, rec := range r.recs {
		n += len(rec.samples)
	}
	samples := make([]time.Duration, 0, n)
	last := r.t0
	for _, rec := range r.recs {
		samples = append(samples, rec.samples...)
		res.Calls += rec.calls
		res.Errors += rec.errors
		res.Timeouts += rec.timeouts
		if rec.lastEnd.After(last) {
			last = rec.lastEnd
		}
	}
	if res.Calls+res.Errors+res.Timeouts == 0 {
		last = r.clock.Now()
	}
	if last.After(r.t0) {
		res.Elapsed = last.Sub(r.t0)
	}
	res.Elapsed = max(res.Elapsed, r.cfg.Duration) // the window, at least
	if res.Elapsed > 0 {
		res.Throughput = float64(res.Calls) / res.Elapsed.Seconds()
	}
	res.Latency = Summarize(samples)
	return res
}
