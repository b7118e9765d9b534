package executors

import (
	"context"
	"sync"
)

var _ Executor = (*Pool)(nil)

// Pool runs up to a fixed number of tasks at once, each on its own
// goroutine; Submit blocks while all workers are busy.
type Pool struct {
	sem chan struct{}

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// NewPool returns a pool of the given number of workers (at least 1).
func NewPool(workers int) *Pool {
	return &Pool{sem: make(chan struct{}, max(workers, 1))}
}

// Capacity is the number of workers.
func (p *Pool) Capacity() int { return cap(p.sem) }

// Submit waits for a free worker and runs task on it.
func (p *Pool) Submit(ctx context.Context, task func()) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		<-p.sem
		return ErrShutdown
	}
	p.wg.Add(1)
	p.mu.RUnlock()
	go func() {
		defer func() {
			<-p.sem
			p.wg.Done()
		}()
		task()
	}()
	return nil
}

// Shutdown stops accepting tasks and waits for the running ones.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return waitGroup(ctx, &p.wg)
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
