//go:build soak

package reliability

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// soakSample is one reading of the host's own metrics.
type soakSample struct {
	at                time.Time
	goroutines, fds   float64
	rssMB             float64
	calls, reconnects float64
}

// TestSoak (make soak): SOAK_DURATION (default 10m) of steady load, about
// 200 calls/s from 8 callers, against the oslohost binary, with a hot swap
// of its plugin every 30 s and the broker closing its connection every
// 45 s. It samples go_goroutines, process_open_fds and
// process_resident_memory_bytes from /metrics every 10 s and fails on a
// growth trend, on any call left without a reply or a documented failure,
// and on failures away from a reconnect or swap instant. It prints a
// summary table.
func TestSoak(t *testing.T) {
	dur := 10 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		dur = d
	}
	h, c := faultyHost(t, "rel-soak", "")
	token := "oslohost:" + strconv.Itoa(h.Pid()) + ":"
	l := startLoad(c, 8, "sleep", func(int, int) any { return map[string]float64{"seconds": 0.001} }, 10*time.Second, 25*time.Millisecond)

	sample := func() soakSample {
		m := h.Metrics(t)
		var calls float64
		for k, v := range m {
			if strings.HasPrefix(k, "oslohost_rpc_calls_total") {
				calls += v
			}
		}
		return soakSample{at: time.Now(), goroutines: m["go_goroutines"], fds: m["process_open_fds"],
			rssMB: m["process_resident_memory_bytes"] / (1 << 20), calls: calls, reconnects: m["oslohost_broker_reconnects_total"]}
	}
	var samples []soakSample
	var swaps, reconnects []time.Time
	var swapErrs []string
	start := time.Now()
	sampleT, swapT, reconnT := time.NewTicker(10*time.Second), time.NewTicker(30*time.Second), time.NewTicker(45*time.Second)
	defer sampleT.Stop()
	defer swapT.Stop()
	defer reconnT.Stop()
	end := time.After(dur)
	samples = append(samples, sample())
loop:
	for {
		select {
		case <-end:
			break loop
		case <-sampleT.C:
			samples = append(samples, sample())
		case <-swapT.C:
			swaps = append(swaps, time.Now())
			if err := h.Swap(t, "faulty"); err != nil {
				swapErrs = append(swapErrs, err.Error())
			}
		case <-reconnT.C:
			reconnects = append(reconnects, time.Now())
			if n := pypeer.CloseConnections(t, token); n == 0 {
				t.Errorf("no host connection to close at %v", time.Since(start).Round(time.Second))
			}
		}
	}
	calls := l.finish(t)
	samples = append(samples, sample())

	// Failures: near a fault instant (within 5 s after it) or not.
	near := func(at time.Time) bool {
		for _, f := range append(append([]time.Time(nil), swaps...), reconnects...) {
			if !at.Before(f.Add(-time.Second)) && at.Before(f.Add(5*time.Second)) {
				return true
			}
		}
		return false
	}
	atFault, away := tally{}, tally{}
	for _, cr := range calls {
		if cr.outcome == "ok" {
			continue
		}
		if near(cr.start) || near(cr.end) {
			atFault.add(cr.outcome)
		} else {
			away.add(cr.outcome)
		}
	}
	s := summarize(calls)

	var b strings.Builder
	fmt.Fprintf(&b, "soak summary: %v, %d calls (%.0f/s), %d swaps (%d failed), %d broker connection closes\n",
		dur, s.total, float64(s.total)/dur.Seconds(), len(swaps), len(swapErrs), len(reconnects))
	fmt.Fprintf(&b, "%-8s %10s %6s %8s %12s %10s\n", "t", "goroutines", "fds", "RSS MB", "host calls", "reconnects")
	for _, sm := range samples {
		fmt.Fprintf(&b, "%-8s %10.0f %6.0f %8.1f %12.0f %10.0f\n", sm.at.Sub(start).Round(time.Second), sm.goroutines, sm.fds, sm.rssMB, sm.calls, sm.reconnects)
	}
	keys := make([]string, 0, len(s.byOutcome))
	for k := range s.byOutcome {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "outcome %-28s %8d\n", k, s.byOutcome[k])
	}
	fmt.Fprintf(&b, "failures at a reconnect/swap instant: %v; elsewhere: %v; slowest call %v\n", atFault.snapshot(), away.snapshot(), s.slowest.Round(time.Millisecond))
	fmt.Println(b.String()) // shown without -v too

	if len(swapErrs) > 0 {
		t.Errorf("swaps failed: %v", swapErrs)
	}
	if n := s.byOutcome["timeout"]; n > 0 {
		t.Errorf("%d calls timed out (lost)", n)
	}
	if away.total() > 0 {
		t.Errorf("failures away from any fault instant: %v", away.snapshot())
	}
	for k := range s.byOutcome {
		if k != "ok" && k != "timeout" && !strings.HasPrefix(k, "remote:Plugin") {
			t.Errorf("undocumented outcome %q (%d)", k, s.byOutcome[k])
		}
	}
	// Trend: the mean of the last quarter against the first quarter
	// (after the first sample, which precedes any fault).
	if len(samples) >= 8 {
		q := len(samples) / 4
		mean := func(ss []soakSample, f func(soakSample) float64) float64 {
			var sum float64
			for _, x := range ss {
				sum += f(x)
			}
			return sum / float64(len(ss))
		}
		first, last := samples[1:1+q], samples[len(samples)-q:]
		for _, m := range []struct {
			name     string
			f        func(soakSample) float64
			rel, abs float64
		}{
			{"goroutines", func(x soakSample) float64 { return x.goroutines }, 0.2, 20},
			{"open fds", func(x soakSample) float64 { return x.fds }, 0.2, 10},
			{"RSS MB", func(x soakSample) float64 { return x.rssMB }, 0.3, 16},
		} {
			a, z := mean(first, m.f), mean(last, m.f)
			t.Logf("result: soak trend %s: first quarter %.1f, last quarter %.1f", m.name, a, z)
			if z > a*(1+m.rel)+m.abs {
				t.Errorf("%s grew from %.1f to %.1f", m.name, a, z)
			}
		}
	}
}
