package executors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNew(t *testing.T) {
	tests := []struct {
		kind    string
		workers int
		want    int
		wantErr bool
	}{
		{"pool", 8, 8, false},
		{"", 3, 3, false},
		{"blocking", 0, 1, false},
		{"pool", 0, 0, true},
		{"threading", 4, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			e, err := New(tt.kind, tt.workers)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q, %d) error = %v, want error %v", tt.kind, tt.workers, err, tt.wantErr)
			}
			if err == nil && e.Capacity() != tt.want {
				t.Fatalf("Capacity() = %d, want %d", e.Capacity(), tt.want)
			}
		})
	}
}

// TestPoolBound checks that no more than Capacity tasks run at once and that
// Submit blocks (back-pressure) while the pool is full.
func TestPoolBound(t *testing.T) {
	p := NewPool(3)
	var running, peak atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	task := func() {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
	}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := p.Submit(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		<-started
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Submit(short, task); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Submit on a full pool = %v, want deadline exceeded", err)
	}
	close(release)
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if peak.Load() != 3 {
		t.Fatalf("peak concurrency %d, want 3", peak.Load())
	}
	if err := p.Submit(ctx, task); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Submit after Shutdown = %v, want ErrShutdown", err)
	}
}

// TestBlockingOrder checks one-at-a-time execution in submission order.
func TestBlockingOrder(t *testing.T) {
	b := NewBlocking()
	var mu sync.Mutex
	var order []int
	var inside atomic.Int32
	for i := 0; i < 50; i++ {
		if err := b.Submit(context.Background(), func() {
			if inside.Add(1) != 1 {
				t.Error("two tasks ran at once")
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			inside.Add(-1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("order[%d] = %d", i, v)
		}
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Submit(context.Background(), func() {}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Submit after Shutdown = %v", err)
	}
}

func TestShutdownWaitsBounded(t *testing.T) {
	p := NewPool(1)
	release := make(chan struct{})
	if err := p.Submit(context.Background(), func() { <-release }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a running task = %v, want deadline exceeded", err)
	}
	close(release)
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
