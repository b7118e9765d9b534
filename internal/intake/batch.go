package intake

import (
	"context"
	"sync"
	"time"
)

// Batch turns on batch handling under AckAfterHandling: messages are
// collected until Size are there or Timeout has passed since the first of
// them arrived (0: wait for Size, or shutdown), then handed to Handle as
// one executor task.
type Batch[M any] struct {
	Size    int
	Timeout time.Duration
	// Handle returns one Verdict per message, in order; a missing one
	// counts as Requeued.
	Handle func(ctx context.Context, batch []*Msg[M]) []Verdict
}

// batcher collects messages and dispatches them in batches. Safe for
// concurrent use.
type batcher[T any] struct {
	size     int
	timeout  time.Duration
	dispatch func([]T)

	mu      sync.Mutex
	pending []T
	timer   *time.Timer
	seq     uint64 // increments with every batch taken; stale timers see it
	closed  bool   // after flush: every message goes out at once
}

func newBatcher[T any](size int, timeout time.Duration, dispatch func([]T)) *batcher[T] {
	return &batcher[T]{size: max(size, 1), timeout: timeout, dispatch: dispatch}
}

// add queues m; a full batch is dispatched on the caller's goroutine.
func (b *batcher[T]) add(m T) {
	b.mu.Lock()
	b.pending = append(b.pending, m)
	if len(b.pending) >= b.size || b.closed {
		batch := b.take()
		b.mu.Unlock()
		b.dispatch(batch)
		return
	}
	if len(b.pending) == 1 && b.timeout > 0 {
		seq := b.seq
		b.timer = time.AfterFunc(b.timeout, func() { b.expire(seq) })
	}
	b.mu.Unlock()
}

// take empties the pending batch; b.mu is held.
func (b *batcher[T]) take() []T {
	batch := b.pending
	b.pending = nil
	b.seq++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return batch
}

// expire dispatches batch seq when its timeout passed before it filled.
func (b *batcher[T]) expire(seq uint64) {
	b.mu.Lock()
	if seq != b.seq || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	batch := b.take()
	b.mu.Unlock()
	b.dispatch(batch)
}

// flush dispatches what is pending now and makes later messages go out at
// once (shutdown).
func (b *batcher[T]) flush() {
	b.mu.Lock()
	b.closed = true
	batch := b.take()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.dispatch(batch)
	}
}
