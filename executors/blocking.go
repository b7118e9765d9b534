package executors

import (
	"context"
	"sync"
)

var _ Executor = (*Blocking)(nil)

// Blocking runs one task at a time, on the submitting goroutine, in the
// order Submit was called: a message is handled completely before the next
// one is taken (oslo's "blocking" executor).
type Blocking struct {
	run chan struct{} // a one-slot token: who holds it runs

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// NewBlocking returns a Blocking executor.
func NewBlocking() *Blocking { return &Blocking{run: make(chan struct{}, 1)} }

// Capacity is 1.
func (b *Blocking) Capacity() int { return 1 }

// Submit runs task before returning, after any task already running.
func (b *Blocking) Submit(ctx context.Context, task func()) error {
	select {
	case b.run <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	defer func() { <-b.run }()
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrShutdown
	}
	b.wg.Add(1)
	b.mu.RUnlock()
	defer b.wg.Done()
	task()
	return nil
}

// Shutdown stops accepting tasks and waits for the running one.
func (b *Blocking) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return waitGroup(ctx, &b.wg)
}
