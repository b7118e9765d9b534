package listener

import (
	"sync"
	"time"
)

// BatchConfig turns on batch delivery (get_batch_notification_listener):
// notifications are collected until Size are there or Timeout has passed
// since the first of them arrived, then handed to the BatchHandler as one
// batch. Timeout 0 waits for Size (or shutdown).
type BatchConfig struct {
	Size    int
	Timeout time.Duration
}

// batcher collects items and dispatches them in batches. Safe for
// concurrent use.
type batcher struct {
	size     int
	timeout  time.Duration
	dispatch func([]*item)

	mu      sync.Mutex
	pending []*item
	timer   *time.Timer
	seq     uint64 // increments with every batch taken; stale timers see it
	closed  bool   // after flush: every item goes out at once
}

func newBatcher(size int, timeout time.Duration, dispatch func([]*item)) *batcher {
	return &batcher{size: max(size, 1), timeout: timeout, dispatch: dispatch}
}

// add queues it; a full batch is dispatched on the caller's goroutine.
func (b *batcher) add(it *item) {
	b.mu.Lock()
	b.pending = append(b.pending, it)
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
func (b *batcher) take() []*item {
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
func (b *batcher) expire(seq uint64) {
	b.mu.Lock()
	if seq != b.seq || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	batch := b.take()
	b.mu.Unlock()
	b.dispatch(batch)
}

// flush dispatches what is pending now and makes later items go out at
// once (shutdown).
func (b *batcher) flush() {
	b.mu.Lock()
	b.closed = true
	batch := b.take()
	b.mu.Unlock()
	if len(batch) > 0 {
		b.dispatch(batch)
	}
}
