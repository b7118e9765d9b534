package executors

import (
	"context"
	"sync"

	"github.com/oslohost/oslohost/internal/workers"
)

var _ Executor = (*Pool)(nil)

// Pool runs up to a fixed number of tasks at once; Submit blocks while all
// workers are busy. Workers are goroutines started on demand that stay for
// further tasks while there are any (a worker keeps the stack a call grew,
// where a goroutine per task would grow a new one every time) and end after
// a while without (internal/workers).
type Pool struct {
	sem     chan struct{} // one slot per running task
	workers *workers.Set

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup // running tasks
}

// NewPool returns a pool of the given number of workers (at least 1).
func NewPool(n int) *Pool {
	p := &Pool{sem: make(chan struct{}, max(n, 1))}
	p.workers = workers.New(p.run)
	return p
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
	p.workers.Go(task)
	return nil
}

func (p *Pool) run(task func()) {
	defer func() {
		<-p.sem
		p.wg.Done()
	}()
	task()
}

// Shutdown stops accepting tasks, lets idle workers end and waits for the
// running tasks.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.workers.Close()
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
