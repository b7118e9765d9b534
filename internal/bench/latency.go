package bench

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Latency summarises the latencies of the successful measured calls. The
// zero value means no samples.
type Latency struct {
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

// Summarize returns the summary of samples. It sorts samples in place.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return Latency{
		Min:  samples[0],
		Mean: time.Duration(sum / float64(len(samples))),
		P50:  Percentile(samples, 50),
		P90:  Percentile(samples, 90),
		P99:  Percentile(samples, 99),
		P999: Percentile(samples, 99.9),
		Max:  samples[len(samples)-1],
	}
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted samples by
// the nearest-rank method: the smallest sample such that at least p % of
// the samples are less than or equal to it. It is always one of the
// samples; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 * n), in integers (p in steps of 1e-4) so that
	// p=99.9 and n=1000 give 999, not 1000 through float rounding.
	const scale = 1_000_000 // 100 % in steps of 1e-4 %
	pp := int64(math.Round(p * scale / 100))
	rank := int((pp*int64(n) + scale - 1) / scale)
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// MarshalJSON writes the durations in milliseconds (floats):
// {"min_ms": …, "mean_ms": …, "p50_ms": …, "p90_ms": …, "p99_ms": …, "p999_ms": …, "max_ms": …}.
func (l Latency) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min  float64 `json:"min_ms"`
		Mean float64 `json:"mean_ms"`
		P50  float64 `json:"p50_ms"`
		P90  float64 `json:"p90_ms"`
		P99  float64 `json:"p99_ms"`
		P999 float64 `json:"p999_ms"`
		Max  float64 `json:"max_ms"`
	}{ms(l.Min), ms(l.Mean), ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max)})
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
