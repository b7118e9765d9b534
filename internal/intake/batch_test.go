package intake

import (
	"sync"
	"testing"
	"time"
)

type batchLog struct {
	mu  sync.Mutex
	got [][]int
	ch  chan struct{}
}

func newBatchLog() *batchLog { return &batchLog{ch: make(chan struct{}, 100)} }

func (l *batchLog) dispatch(b []int) {
	l.mu.Lock()
	l.got = append(l.got, b)
	l.mu.Unlock()
	l.ch <- struct{}{}
}

func (l *batchLog) sizes() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]int, len(l.got))
	for i, b := range l.got {
		out[i] = len(b)
	}
	return out
}

func (l *batchLog) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-l.ch:
	case <-time.After(d):
		t.Fatalf("no batch within %s", d)
	}
}

func TestBatcherSize(t *testing.T) {
	log := newBatchLog()
	b := newBatcher[int](3, time.Hour, log.dispatch)
	for range 7 {
		b.add(0)
	}
	if got := log.sizes(); len(got) != 2 || got[0] != 3 || got[1] != 3 {
		t.Fatalf("batches %v, want [3 3]", got)
	}
	b.flush()
	if got := log.sizes(); len(got) != 3 || got[2] != 1 {
		t.Fatalf("after flush %v, want [3 3 1]", got)
	}
	// After flush (shutdown) every item goes out at once.
	b.add(0)
	if got := log.sizes(); len(got) != 4 || got[3] != 1 {
		t.Fatalf("after close %v", got)
	}
}

func TestBatcherTimeout(t *testing.T) {
	log := newBatchLog()
	b := newBatcher[int](10, 50*time.Millisecond, log.dispatch)
	start := time.Now()
	b.add(0)
	b.add(0)
	log.wait(t, 5*time.Second)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("batch after %s, before the timeout", d)
	}
	if got := log.sizes(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("batches %v, want [2]", got)
	}
	// A batch filled before its timeout is not dispatched again by the
	// stale timer.
	b.add(0)
	for range 9 {
		b.add(0)
	}
	log.wait(t, time.Second)
	time.Sleep(100 * time.Millisecond) // let a stale timer fire, if one were left
	if got := log.sizes(); len(got) != 2 || got[1] != 10 {
		t.Fatalf("batches %v, want [2 10]", got)
	}
	b.flush() // nothing pending: no empty batch
	if got := log.sizes(); len(got) != 2 {
		t.Fatalf("empty batch dispatched: %v", got)
	}
}
