package executors

import (
	"context"
	"sync"
	"time"
)

var _ Executor = (*Pool)(nil)

// workerIdle is how long a worker with nothing to do waits for a task
// before it ends.
const workerIdle = 10 * time.Second

// Pool runs up to a fixed number of tasks at once; Submit blocks while all
// workers are busy. Workers are goroutines started on demand that stay for
// further tasks while there are any (a worker keeps the stack a call grew,
// where a goroutine per task would grow a new one every time) and end after
// a while without.
type Pool struct {
	sem   chan struct{} // one slot per running task
	tasks chan func()   // unbuffered: hands a task to an idle worker
	quit  chan struct{} // closed by Shutdown: idle workers end

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup // running tasks
	once   sync.Once
}

// NewPool returns a pool of the given number of workers (at least 1).
func NewPool(workers int) *Pool {
	return &Pool{sem: make(chan struct{}, max(workers, 1)), tasks: make(chan func()), quit: make(chan struct{})}
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
	select {
	case p.tasks <- task: // an idle worker took it
	default:
		go p.work(task)
	}
	return nil
}

// work runs task, then the tasks handed to it, until it has been idle for
// workerIdle or the pool shuts down.
func (p *Pool) work(task func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		p.run(task)
		idle.Reset(workerIdle)
		select {
		case task = <-p.tasks:
		case <-idle.C:
			return
		case <-p.quit:
			return
		}
	}
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
	p.once.Do(func() { close(p.quit) })
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
