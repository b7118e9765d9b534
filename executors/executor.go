package executors

import (
	"context"
	"errors"
	"fmt"
)

// ErrShutdown is returned by Submit after Shutdown.
var ErrShutdown = errors.New("executor shut down")

// Executor runs tasks. Implementations are safe for concurrent use.
type Executor interface {
	// Submit runs task, blocking until the executor accepts it or ctx ends.
	// An accepted task always runs to completion.
	Submit(ctx context.Context, task func()) error
	// Capacity is how many tasks may run at once.
	Capacity() int
	// Shutdown stops accepting tasks and waits until running ones finish
	// or ctx ends. Idempotent.
	Shutdown(ctx context.Context) error
}

// New returns the executor of the given kind ("blocking" or "pool").
func New(kind string, workers int) (Executor, error) {
	switch kind {
	case "blocking":
		return NewBlocking(), nil
	case "pool", "":
		if workers <= 0 {
			return nil, fmt.Errorf("pool executor: workers must be positive, got %d", workers)
		}
		return NewPool(workers), nil
	default:
		return nil, fmt.Errorf("unknown executor kind %q (want blocking or pool)", kind)
	}
}
