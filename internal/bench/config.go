package bench

import (
	"errors"
	"fmt"
	"time"
)

// DefaultMaxInFlight bounds the calls in flight of an open-loop run when
// Config.MaxInFlight is 0.
const DefaultMaxInFlight = 1000

// DefaultProgressInterval is how often Config.Progress is called when
// Config.ProgressInterval is 0.
const DefaultProgressInterval = time.Second

// Config configures a run. Exactly one of Duration and Count is set.
type Config struct {
	// Concurrency is the number of closed-loop callers, each calling
	// back-to-back. Used when Rate is 0.
	Concurrency int
	// Rate selects open-loop mode: calls are scheduled at Rate per second
	// and latency runs from each call's scheduled time.
	Rate float64
	// MaxInFlight bounds the open-loop calls in flight (and the goroutines
	// dispatching them); 0 means DefaultMaxInFlight. When the bound is
	// reached, later calls wait for a slot and the wait counts in their
	// latency.
	MaxInFlight int
	// Duration is the length of the measured window, after Warmup.
	Duration time.Duration
	// Count is the number of measured calls, instead of a Duration.
	Count int
	// Warmup is a first period whose calls are made but not measured.
	Warmup time.Duration
	// Classify tells timeouts from failures; nil means DefaultClassify.
	Classify ClassifyFunc
	// Progress, when set, is called about every ProgressInterval (and
	// never concurrently) while the run lasts.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Clock is the time source; nil means the real clock. Progress always
	// ticks in real time.
	Clock Clock
}

// ErrConfig is returned, wrapped, for an invalid Config.
var ErrConfig = errors.New("invalid bench config")

func (c *Config) check() error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("%w: negative rate", ErrConfig)
	case c.Rate == 0 && c.Concurrency < 1:
		return fmt.Errorf("%w: concurrency must be at least 1", ErrConfig)
	case c.MaxInFlight < 0:
		return fmt.Errorf("%w: negative max in flight", ErrConfig)
	case (c.Duration > 0) == (c.Count > 0):
		return fmt.Errorf("%w: set exactly one of duration and count", ErrConfig)
	case c.Duration < 0 || c.Count < 0 || c.Warmup < 0:
		return fmt.Errorf("%w: negative duration, count or warmup", ErrConfig)
	}
	return nil
}

// Mode is "closed" (Concurrency callers) or "open" (a fixed Rate).
func (c *Config) Mode() string {
	if c.Rate > 0 {
		return "open"
	}
	return "closed"
}
