package bench

import (
	"encoding/json"
	"math"
	"time"
)

// Result is what a run measured. Only calls in the measured window count:
// in closed loop those started after the warm-up, in open loop those
// scheduled after it.
type Result struct {
	Mode        string // "closed" or "open"
	Concurrency int    // closed loop
	Rate        float64
	MaxInFlight int // open loop
	Warmup      time.Duration
	// Elapsed runs from the end of the warm-up to the last measured
	// completion (to the end of the run when nothing completed); with a
	// Duration, it is at least that.
	Elapsed time.Duration
	// Calls succeeded; Errors failed; Timeouts timed out.
	Calls, Errors, Timeouts int64
	// Unsent counts open-loop calls scheduled within the window but never
	// sent because the window ended first: the rate was not sustained.
	Unsent int64
	// Workers is the number of goroutines that made calls.
	Workers int
	// Throughput is Calls per second of Elapsed.
	Throughput float64
	// Latency is over the successful calls.
	Latency Latency
	// Interrupted is set when the run's context ended early.
	Interrupted bool
}

// MarshalJSON writes the result with durations in seconds or milliseconds
// as the field names say.
func (r *Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Mode        string  `json:"mode"`
		Concurrency int     `json:"concurrency,omitempty"`
		Rate        float64 `json:"rate,omitempty"`
		MaxInFlight int     `json:"max_in_flight,omitempty"`
		Warmup      float64 `json:"warmup_s"`
		Elapsed     float64 `json:"elapsed_s"`
		Calls       int64   `json:"calls"`
		Errors      int64   `json:"errors"`
		Timeouts    int64   `json:"timeouts"`
		Unsent      int64   `json:"unsent"`
		Workers     int     `json:"workers"`
		Throughput  float64 `json:"calls_per_s"`
		Latency     Latency `json:"latency"`
		Interrupted bool    `json:"interrupted,omitempty"`
	}{
		r.Mode, r.Concurrency, r.Rate, r.MaxInFlight, r.Warmup.Seconds(),
		math.Round(r.Elapsed.Seconds()*1e6) / 1e6,
		r.Calls, r.Errors, r.Timeouts, r.Unsent, r.Workers,
		math.Round(r.Throughput*10) / 10, r.Latency, r.Interrupted,
	})
}

// Progress is a snapshot of a running run, for a progress line.
type Progress struct {
	// Elapsed is the time since the run started, warm-up included.
	Elapsed time.Duration
	// Warmup is set while the warm-up lasts.
	Warmup bool
	// Calls, Errors and Timeouts count every completed call so far,
	// warm-up included.
	Calls, Errors, Timeouts int64
	// Rate is successful calls per second since the previous snapshot.
	Rate float64
	// InFlight is the number of calls under way.
	InFlight int64
}
