// Package retry is the one formula of the waits between attempts: the
// broker reconnects (internal/rabbit) and the plugin restarts (host).
package retry

import (
	"math/rand/v2"
	"time"
)

// Jitter is d spread by ±20 % (uniformly over 0.8d..1.2d), so that a fleet
// does not retry in lockstep; 0 for d <= 0.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d*8/10 + rand.N(d*4/10+1)
}

// Doubling is initial doubled n times, capped at max (and at max when the
// doubling overflows).
func Doubling(initial, max time.Duration, n int) time.Duration {
	d := initial << min(n, 16)
	if d > max || d <= 0 {
		return max
	}
	return d
}
