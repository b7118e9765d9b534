package workers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReuse: a task given while a worker is idle runs on that worker, not
// on a new one; Close ends idle workers and Wait returns once the busy
// ones finished.
func TestReuse(t *testing.T) {
	var started atomic.Int32
	s := New(func(task func()) { task() })
	first := make(chan struct{})
	s.Go(func() { started.Add(1); close(first) })
	<-first
	// The first worker is idle (or about to be): further tasks, one at a
	// time, must not need more than one new worker between them.
	for i := 0; i < 20; i++ {
		done := make(chan struct{})
		s.Go(func() { close(done) })
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("task did not run")
		}
	}
	if n := workersNow(s); n > 2 {
		t.Fatalf("%d workers for tasks run one at a time", n)
	}

	release := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(3)
	for range 3 {
		s.Go(func() { busy.Done(); <-release })
	}
	busy.Wait()
	s.Close()
	waited := make(chan struct{})
	go func() { s.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while tasks ran")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the tasks ended")
	}

	// Go after Close still runs its task.
	ran := make(chan struct{})
	s.Go(func() { close(ran) })
	<-ran
	s.Wait()
}

// workersNow counts the workers alive, by handing each idle one a task
// that blocks until all are counted.
func workersNow(s *Set) int {
	hold := make(chan struct{})
	n := 0
	for {
		select {
		case s.tasks <- func() { <-hold }:
			n++
			continue
		case <-time.After(100 * time.Millisecond):
		}
		close(hold)
		return n
	}
}
