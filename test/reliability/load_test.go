package reliability

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
)

// callRecord is one call made by a load.
type callRecord struct {
	start, end time.Time
	outcome    string
}

// load keeps workers calling method in a loop, each call with its own
// timeout, and records every call. Safe for concurrent use.
type load struct {
	c       *client.Client
	method  string
	args    func(worker, seq int) any
	timeout time.Duration
	pace    time.Duration // per-worker pause between calls (0: none)

	mu    sync.Mutex
	calls []callRecord
	stop  chan struct{}
	wg    sync.WaitGroup
}

// startLoad starts workers callers; stop it with (*load).finish.
func startLoad(c *client.Client, workers int, method string, args func(worker, seq int) any, timeout, pace time.Duration) *load {
	l := &load{c: c, method: method, args: args, timeout: timeout, pace: pace, stop: make(chan struct{})}
	for w := 0; w < workers; w++ {
		l.wg.Add(1)
		go l.worker(w)
	}
	return l
}

func (l *load) worker(w int) {
	defer l.wg.Done()
	c := l.c.Prepare(client.Timeout(l.timeout))
	for seq := 0; ; seq++ {
		select {
		case <-l.stop:
			return
		default:
		}
		var a any
		if l.args != nil {
			a = l.args(w, seq)
		}
		start := time.Now()
		err := c.Call(context.Background(), nil, l.method, a, nil)
		rec := callRecord{start: start, end: time.Now(), outcome: outcome(err)}
		l.mu.Lock()
		l.calls = append(l.calls, rec)
		l.mu.Unlock()
		if l.pace > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(l.pace):
			}
		}
	}
}

// finish stops the workers and waits (bounded) for their last calls.
func (l *load) finish(t testing.TB) []callRecord {
	t.Helper()
	close(l.stop)
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(l.timeout + 30*time.Second):
		t.Fatalf("load workers still busy %v after stop: a call hangs", l.timeout+30*time.Second)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]callRecord(nil), l.calls...)
}

// count is how many calls have finished so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// loadSummary tallies calls by outcome and finds the slowest.
type loadSummary struct {
	byOutcome map[string]int
	slowest   time.Duration
	total     int
}

func summarize(calls []callRecord) loadSummary {
	s := loadSummary{byOutcome: map[string]int{}, total: len(calls)}
	for _, c := range calls {
		s.byOutcome[c.outcome]++
		if d := c.end.Sub(c.start); d > s.slowest {
			s.slowest = d
		}
	}
	return s
}

func (s loadSummary) String() string {
	keys := make([]string, 0, len(s.byOutcome))
	for k := range s.byOutcome {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, s.byOutcome[k]))
	}
	return fmt.Sprintf("%d calls (%s), slowest %v", s.total, strings.Join(parts, " "), s.slowest.Round(time.Millisecond))
}

// overlapping are the calls running at instant at.
func overlapping(calls []callRecord, at time.Time) []callRecord {
	var out []callRecord
	for _, c := range calls {
		if !c.start.After(at) && !c.end.Before(at) {
			out = append(out, c)
		}
	}
	return out
}

// serveAgain calls method until a call succeeds (each with a short
// timeout) and returns how long after since that success came.
func serveAgain(t testing.TB, c *client.Client, method string, since time.Time, bound time.Duration) time.Duration {
	t.Helper()
	c = c.Prepare(client.Timeout(time.Second))
	deadline := time.Now().Add(bound)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = c.Call(ctx, nil, method, nil, nil)
		cancel()
		if err == nil {
			return time.Since(since)
		}
		time.Sleep(20 * time.Millisecond) // pacing between probes, not synchronisation
	}
	t.Fatalf("%s not served again within %v: %v", method, bound, err)
	return 0
}

// soaking reports whether the long variants run (make soak sets
// OSLOHOST_SOAK=1).
func soaking() bool { return os.Getenv("OSLOHOST_SOAK") != "" }
