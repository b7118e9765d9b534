package bench

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// seq returns 1..n milliseconds.
func seq(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Duration(i+1) * time.Millisecond
	}
	return s
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample, p50", seq(1), 50, 1 * time.Millisecond},
		{"one sample, p99.9", seq(1), 99.9, 1 * time.Millisecond},
		{"two samples, p50 is the lower", seq(2), 50, 1 * time.Millisecond},
		{"two samples, p50.1 is the upper", seq(2), 50.1, 2 * time.Millisecond},
		{"three samples, median", seq(3), 50, 2 * time.Millisecond},
		{"100, p50", seq(100), 50, 50 * time.Millisecond},
		{"100, p90", seq(100), 90, 90 * time.Millisecond},
		{"100, p99", seq(100), 99, 99 * time.Millisecond},
		{"100, p99.9 rounds up to the max", seq(100), 99.9, 100 * time.Millisecond},
		{"1000, p99.9 exactly", seq(1000), 99.9, 999 * time.Millisecond},
		{"1000, p99.99", seq(1000), 99.99, 1000 * time.Millisecond},
		{"10, p1 is the min", seq(10), 1, 1 * time.Millisecond},
		{"10, p0 clamps to the min", seq(10), 0, 1 * time.Millisecond},
		{"10, p100 is the max", seq(10), 100, 10 * time.Millisecond},
		{"10, p101 clamps to the max", seq(10), 101, 10 * time.Millisecond},
		{"7, p33.3", seq(7), 100.0 / 3, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

// TestPercentileMatchesDefinition checks nearest rank against its
// definition on shuffled random samples: at least p % of the samples are
// <= the result, and fewer than p % are < it.
func TestPercentileMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 17, 100, 1001} {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(rng.IntN(50)) * time.Microsecond // with duplicates
		}
		slices.Sort(s)
		for _, p := range []float64{1, 25, 50, 90, 99, 99.9, 100} {
			v := Percentile(s, p)
			var le, lt int
			for _, x := range s {
				if x <= v {
					le++
				}
				if x < v {
					lt++
				}
			}
			if float64(le)*100 < p*float64(n)-1e-9 || float64(lt)*100 >= p*float64(n) {
				t.Errorf("n=%d p=%v: %v has %d samples <= and %d < it", n, p, v, le, lt)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	s := seq(100)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	got := Summarize(s)
	want := Latency{
		Min: 1 * time.Millisecond, Mean: 50500 * time.Microsecond,
		P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond,
		P999: 100 * time.Millisecond, Max: 100 * time.Millisecond,
	}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != Latency{}) {
		t.Errorf("Summarize(nil) is not the zero Latency")
	}
}

func TestLatencyJSON(t *testing.T) {
	b, err := json.Marshal(Latency{P50: 1500 * time.Microsecond, Max: 2*time.Second + 1234567})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"min_ms":0,"mean_ms":0,"p50_ms":1.5,"p90_ms":0,"p99_ms":0,"p999_ms":0,"max_ms":2001.235}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}
