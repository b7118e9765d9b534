// Package workers runs tasks on goroutines kept for further tasks once
// they finish one. A goroutine keeps the stack a task grew; with a new
// goroutine per task, every task grows (copies) a stack again, which was
// about 15 % of a plugin's CPU under load (a JSON decode is deep). The
// host's pool executor and a plugin's Calls stream both run on it.
package workers

import (
	"sync"
	"time"
)

// Idle is how long a worker with nothing to do waits for a task before it
// ends.
const Idle = 10 * time.Second

// Set is the workers of one owner. Its methods are safe for concurrent
// use.
type Set struct {
	run   func(task func()) // runs one task on a worker
	tasks chan func()       // unbuffered: hands a task to an idle worker
	quit  chan struct{}     // closed by Close: idle workers end
	once  sync.Once
	wg    sync.WaitGroup // workers
}

// New returns an empty set. run, unless nil, runs each task (it calls the
// task it is given), so that an owner can wrap its tasks without a closure
// per task.
func New(run func(task func())) *Set {
	if run == nil {
		run = func(task func()) { task() }
	}
	return &Set{run: run, tasks: make(chan func()), quit: make(chan struct{})}
}

// Go runs task on an idle worker, or on a new one; it does not wait.
func (s *Set) Go(task func()) {
	select {
	case s.tasks <- task: // an idle worker took it
	default:
		s.wg.Add(1)
		go s.work(task)
	}
}

// work runs task, then the tasks handed to it, until it has been idle for
// Idle or the set is closed.
func (s *Set) work(task func()) {
	defer s.wg.Done()
	idle := time.NewTimer(Idle)
	defer idle.Stop()
	for {
		s.run(task)
		idle.Reset(Idle)
		select {
		case task = <-s.tasks:
		case <-idle.C:
			return
		case <-s.quit:
			return
		}
	}
}

// Close makes idle workers end now, and busy ones once their task
// returns. Go after Close still runs its task, on a new worker that ends
// after it.
func (s *Set) Close() { s.once.Do(func() { close(s.quit) }) }

// Wait waits until every worker has ended (after Close).
func (s *Set) Wait() { s.wg.Wait() }
