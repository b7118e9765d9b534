package bench

import (
	"context"
	"errors"
)

// Caller makes one call and returns nil when it succeeded. It must be safe
// for concurrent use. It should return promptly once ctx ends; calls cut
// short because the run was cancelled are not counted.
type Caller func(ctx context.Context) error

// Outcome classifies the error of one call.
type Outcome int

// Outcomes of a call.
const (
	OK Outcome = iota
	Failed
	TimedOut
)

// ClassifyFunc tells a timeout from another failure.
type ClassifyFunc func(err error) Outcome

// DefaultClassify counts context.DeadlineExceeded as a timeout, anything
// else non-nil as a failure.
func DefaultClassify(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, context.DeadlineExceeded):
		return TimedOut
	}
	return Failed
}
