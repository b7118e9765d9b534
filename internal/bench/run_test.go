package bench

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduledAt(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		rate float64
		i    int64
		want time.Duration
	}{
		{100, 0, 0},
		{100, 1, 10 * time.Millisecond},
		{3, 3, time.Second}, // no drift from adding 333.33 ms intervals
		{3, 3_000_000, 1_000_000 * time.Second},
		{0.5, 1, 2 * time.Second},
		{1e6, 1, time.Microsecond},
	}
	for _, tt := range tests {
		if got := scheduledAt(start, tt.rate, tt.i).Sub(start); got != tt.want {
			t.Errorf("scheduledAt(rate %v, %d) = +%v, want +%v", tt.rate, tt.i, got, tt.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"closed with duration", Config{Concurrency: 1, Duration: time.Millisecond}, true},
		{"open with count", Config{Rate: 10, Count: 5}, true},
		{"no concurrency nor rate", Config{Duration: time.Second}, false},
		{"negative rate", Config{Rate: -1, Concurrency: 1, Duration: time.Second}, false},
		{"duration and count", Config{Concurrency: 1, Duration: time.Second, Count: 3}, false},
		{"neither duration nor count", Config{Concurrency: 1}, false},
		{"negative warmup", Config{Concurrency: 1, Count: 1, Warmup: -1}, false},
		{"negative max in flight", Config{Rate: 1, Count: 1, MaxInFlight: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg, func(context.Context) error { return nil })
			if ok := err == nil; ok != tt.ok {
				t.Errorf("Run error = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v is not ErrConfig", err)
			}
		})
	}
}

// TestOpenLoopSchedule: every call of the schedule is sent, and warm-up
// calls are made but not measured.
func TestOpenLoopSchedule(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		wantMade    int64
		wantCalls   int64
		maxInFlight int
	}{
		{"duration", Config{Rate: 100, Duration: time.Second}, 100, 100, 0},
		{"duration with warmup", Config{Rate: 100, Duration: time.Second, Warmup: 500 * time.Millisecond}, 150, 100, 0},
		{"count", Config{Rate: 1000, Count: 42}, 42, 42, 0},
		{"count with warmup", Config{Rate: 10, Count: 5, Warmup: time.Second}, 15, 5, 0},
		{"one in flight", Config{Rate: 100, Duration: time.Second, MaxInFlight: 1}, 100, 100, 1},
		{"fractional rate", Config{Rate: 2.5, Duration: 4 * time.Second}, 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Clock = newFakeClock()
			var made atomic.Int64
			res, err := Run(context.Background(), tt.cfg, func(context.Context) error {
				made.Add(1)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if made.Load() != tt.wantMade || res.Calls != tt.wantCalls || res.Unsent != 0 {
				t.Errorf("made %d calls, measured %d, unsent %d; want %d, %d, 0",
					made.Load(), res.Calls, res.Unsent, tt.wantMade, tt.wantCalls)
			}
			if res.Mode != "open" || res.Workers < 1 || res.Workers > res.MaxInFlight {
				t.Errorf("mode %q, %d workers for max in flight %d", res.Mode, res.Workers, res.MaxInFlight)
			}
			if tt.maxInFlight == 1 && res.Workers != 1 {
				t.Errorf("%d workers, want 1", res.Workers)
			}
		})
	}
}

// TestOpenLoopCoordinatedOmission: a server slower than the rate. With one
// call in flight, 100 calls/s and 50 ms per call, call k is sent when call
// k-1 ends, at 50k ms, though scheduled at 10k ms: its latency, from the
// scheduled time, is 50(k+1) - 10k ms. The window closes at 1 s after 20
// calls; the other 80 were never sent.
func TestOpenLoopCoordinatedOmission(t *testing.T) {
	clock := newFakeClock()
	cfg := Config{Rate: 100, Duration: time.Second, MaxInFlight: 1, Clock: clock}
	res, err := Run(context.Background(), cfg, func(context.Context) error {
		clock.Advance(50 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lat := func(k int) time.Duration { return time.Duration(50*(k+1)-10*k) * time.Millisecond }
	want := Result{
		Mode: "open", Rate: 100, MaxInFlight: 1, Elapsed: time.Second,
		Calls: 20, Unsent: 80, Workers: 1, Throughput: 20,
		Latency: Latency{
			Min: lat(0), Mean: (lat(0) + lat(19)) / 2, P50: lat(9), P90: lat(17), P99: lat(19), P999: lat(19), Max: lat(19),
		},
	}
	if *res != want {
		t.Errorf("result\n got %+v\nwant %+v", *res, want)
	}
}

// TestClosedLoopOutcomes: a count-mode run makes exactly Count measured
// calls across its callers and sorts outcomes into calls, errors and
// timeouts.
func TestClosedLoopOutcomes(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	boom := errors.New("boom")
	cfg := Config{Concurrency: 4, Count: 30, Clock: clock}
	res, err := Run(context.Background(), cfg, func(context.Context) error {
		clock.Advance(time.Millisecond)
		switch n.Add(1) % 3 {
		case 0:
			return boom
		case 1:
			return context.DeadlineExceeded
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 30 || res.Calls != 10 || res.Errors != 10 || res.Timeouts != 10 {
		t.Errorf("made %d calls: %d ok, %d errors, %d timeouts; want 30: 10 each", n.Load(), res.Calls, res.Errors, res.Timeouts)
	}
	if res.Mode != "closed" || res.Concurrency != 4 || res.Workers != 4 {
		t.Errorf("mode %q, concurrency %d, workers %d", res.Mode, res.Concurrency, res.Workers)
	}
	if res.Elapsed != 30*time.Millisecond || math.Abs(res.Throughput-10/0.03) > 1e-9 {
		t.Errorf("elapsed %v, throughput %v; want 30ms and %v", res.Elapsed, res.Throughput, 10/0.03)
	}
}

// TestClosedLoopWindow: with a duration and a warm-up, only calls started
// in the window count. One caller, 10 ms per call: warm-up 20 ms (2 calls),
// window 100 ms (10 calls).
func TestClosedLoopWindow(t *testing.T) {
	clock := newFakeClock()
	var n atomic.Int64
	cfg := Config{Concurrency: 1, Duration: 100 * time.Millisecond, Warmup: 20 * time.Millisecond, Clock: clock}
	res, err := Run(context.Background(), cfg, func(context.Context) error {
		n.Add(1)
		clock.Advance(10 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 12 || res.Calls != 10 || res.Latency.Max != 10*time.Millisecond || res.Elapsed != 100*time.Millisecond {
		t.Errorf("made %d calls, measured %d (max %v) over %v; want 12, 10 (10ms) over 100ms",
			n.Load(), res.Calls, res.Latency.Max, res.Elapsed)
	}
}

// TestInterrupted: cancelling the run returns the partial result and the
// cause; the calls cut short are not counted.
func TestInterrupted(t *testing.T) {
	for _, cfg := range []Config{
		{Concurrency: 3, Duration: time.Hour},
		{Rate: 1e6, Duration: time.Hour, MaxInFlight: 3},
	} {
		t.Run(cfg.Mode(), func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			stop := errors.New("stop")
			var n atomic.Int64
			res, err := Run(ctx, cfg, func(ctx context.Context) error {
				if n.Add(1) == 50 {
					cancel(stop)
				}
				if n.Load() >= 50 {
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			})
			if !errors.Is(err, stop) {
				t.Errorf("err = %v, want the cause", err)
			}
			if !res.Interrupted || res.Calls >= 50 || res.Errors+res.Timeouts != 0 {
				t.Errorf("interrupted %v, %d calls, %d errors, %d timeouts; want true, < 50, 0, 0",
					res.Interrupted, res.Calls, res.Errors, res.Timeouts)
			}
		})
	}
}

// TestProgress: the progress callback is called while the run lasts and
// not after Run returned.
func TestProgress(t *testing.T) {
	release := make(chan struct{})
	got := make(chan Progress, 100)
	var returned atomic.Bool
	var after atomic.Int64
	cfg := Config{
		Concurrency: 2, Count: 10, ProgressInterval: time.Millisecond,
		Progress: func(p Progress) {
			if returned.Load() {
				after.Add(1)
			}
			select {
			case got <- p:
			default:
			}
		},
	}
	go func() {
		<-got // the first progress report releases the callers
		close(release)
	}()
	res, err := Run(context.Background(), cfg, func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("no progress report within 10s")
		}
	})
	returned.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 10 {
		t.Errorf("%d calls, want 10 (errors: %d)", res.Calls, res.Errors)
	}
	if after.Load() != 0 {
		t.Errorf("%d progress reports after Run returned", after.Load())
	}
}
