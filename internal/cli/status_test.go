package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/host"
)

// TestPrintStatusSwapState: draining generations, probation, a queued swap,
// rollbacks and a pinned binary are printed for a person.
func TestPrintStatusSwapState(t *testing.T) {
	now := time.Now()
	replaced := now.Add(-40 * time.Second)
	st := host.Status{Broker: host.BrokerStatus{URL: "rabbit://h/", Connected: true}, Plugins: []host.PluginStatus{{
		Name: "svc", State: "serving", Generation: 3, PID: 30, Rollbacks: 1, PinnedBinary: true,
		Path: "/opt/svc", SHA256: "abe0500fd18a162ee8f6058b954a",
		Draining:   []host.GenerationStatus{{Generation: 1, PID: 10, InFlight: 2, Since: &replaced, Cut: 1}},
		Probation:  &host.ProbationStatus{Until: now.Add(20 * time.Second), Fallback: 2, FallbackPID: 20},
		SwapQueued: &host.QueuedSwapStatus{Since: now.Add(-5 * time.Second), Reason: "2 old generations would be draining, max_draining is 1"},
	}}}
	var b bytes.Buffer
	printStatus(&b, st)
	for _, want := range []string{
		"svc: generation 1 (pid 10) draining, 2 calls in flight, replaced 40s ago, 1 cut",
		"svc: generation 3 on probation for 20s more; generation 2 (pid 20) kept to roll back to",
		"svc: swap queued 5s ago: 2 old generations would be draining, max_draining is 1",
		"svc: swaps rolled back: 1",
		"svc: restarts run the serving binary (sha256 abe0500fd18a), not the build rolled back from now at /opt/svc, until the next swap",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
