package e2e

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
)

// TestLongMonitoredCallAcrossSwap: a 120 s call with call-monitor
// heartbeats, in flight across a swap, completes on the old generation
// although it outlives drain_timeout (20 s here) and the probation; new
// calls reach the new generation within a second of the swap; no call
// times out. Parallel: it overlaps the other tests.
func TestLongMonitoredCallAcrossSwap(t *testing.T) {
	t.Parallel()
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	long := c.Prepare(client.Timeout(180*time.Second), client.CallMonitorTimeout(10*time.Second))
	done := make(chan string, 1)
	go func() {
		var s string
		if err := long.Call(context.Background(), nil, "sleep", map[string]any{"seconds": 120}, &s); err != nil {
			s = "error: " + err.Error()
		}
		done <- s
	}()
	waitFor(t, 10*time.Second, "the long call reaches the plugin", func() bool { return h.Plugin(t, "svc").InFlight == 1 })
	oldPID := h.Plugin(t, "svc").PID

	install(t, faultyBuild(t, "v2", ""), path)
	swapStart := time.Now()
	if err := h.Swap(t, "svc"); err != nil {
		t.Fatal(err)
	}
	swapped := time.Now()
	var v string
	if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v2" {
		t.Fatalf("first call after the swap: %q %v", v, err)
	}
	first := time.Since(swapped)
	t.Logf("swap answered in %v; the first new call reached v2 %v after it", swapped.Sub(swapStart).Round(time.Millisecond), first.Round(time.Millisecond))
	if first > time.Second {
		t.Fatalf("new calls reached the new generation %v after the swap, want within 1s", first)
	}
	p := h.Plugin(t, "svc")
	if len(p.Draining) != 1 || p.Draining[0].InFlight != 1 || p.Draining[0].PID != oldPID || p.Probation == nil {
		t.Fatalf("status after the swap: draining %+v probation %+v", p.Draining, p.Probation)
	}
	m := h.Metrics(t)
	if m[`oslohost_plugin_draining_generations{plugin="svc"}`] != 1 || m[`oslohost_plugin_draining_calls{plugin="svc"}`] != 1 {
		t.Fatalf("metrics: draining generations %v, calls %v", m[`oslohost_plugin_draining_generations{plugin="svc"}`], m[`oslohost_plugin_draining_calls{plugin="svc"}`])
	}

	// New calls keep going to v2 while the old generation drains well
	// past drain_timeout (20 s) and the probation (30 s).
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		var v string
		if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v2" {
			t.Fatalf("call during the drain: %q %v", v, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if p := h.Plugin(t, "svc"); len(p.Draining) != 1 || p.Draining[0].InFlight != 1 || p.Probation != nil {
		t.Fatalf("45 s after the swap: draining %+v probation %+v", p.Draining, p.Probation)
	}
	if syscall.Kill(oldPID, 0) != nil {
		t.Fatal("the old generation's process is gone while its call runs")
	}
	select {
	case s := <-done:
		if s != "slept on v1" {
			t.Fatalf("long call: %q", s)
		}
	case <-time.After(150 * time.Second):
		t.Fatal("long call did not complete")
	}
	waitFor(t, 10*time.Second, "old generation stopped", func() bool {
		return len(h.Plugin(t, "svc").Draining) == 0 && syscall.Kill(oldPID, 0) != nil
	})
}

// TestSwapQueuedWhileDraining: with max_draining = 1, a swap asked for
// while an old generation drains a call and the serving one has a call
// too (two would drain after it) does not block: it is answered 202 at
// once, status and metrics show it queued, and it runs as soon as the old
// generation has drained, while the other call goes on; every call
// completes on the generation it started on.
func TestSwapQueuedWhileDraining(t *testing.T) {
	t.Parallel()
	h, path, topic := svcHostConfig(t, faultyBuild(t, "v1", ""), "max_draining = 1", "")
	// Built before the calls start: a build on a loaded machine can take
	// longer than call A runs.
	v2, v3 := faultyBuild(t, "v2", ""), faultyBuild(t, "v3", "")
	c := goClient(t, topic)
	sleep := func(seconds float64, out chan<- string) {
		var s string
		if err := c.Call(context.Background(), nil, "sleep", map[string]any{"seconds": seconds}, &s); err != nil {
			s = "error: " + err.Error()
		}
		out <- s
	}
	a, b := make(chan string, 1), make(chan string, 1)
	go sleep(4, a)
	waitFor(t, 10*time.Second, "call A on generation 1", func() bool { return h.Plugin(t, "svc").InFlight == 1 })
	install(t, v2, path)
	if err := h.Swap(t, "svc"); err != nil {
		t.Fatal(err)
	}
	go sleep(10, b)
	waitFor(t, 10*time.Second, "call B on generation 2", func() bool { return h.Plugin(t, "svc").InFlight == 1 })

	install(t, v3, path)
	start := time.Now()
	code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", "")
	took := time.Since(start)
	if code != 202 || !strings.Contains(string(body), `"queued": true`) || took > time.Second {
		t.Fatalf("swap while draining: HTTP %d after %v: %s", code, took, body)
	}
	p := h.Plugin(t, "svc")
	if p.SwapQueued == nil || p.Generation != 2 || !strings.Contains(p.SwapQueued.Reason, "max_draining") {
		t.Fatalf("status with a queued swap: generation %d, queued %+v", p.Generation, p.SwapQueued)
	}
	if m := h.Metrics(t); m[`oslohost_plugin_swap_queued{plugin="svc"}`] != 1 {
		t.Fatalf("metrics: swap_queued %v", m[`oslohost_plugin_swap_queued{plugin="svc"}`])
	}
	if s := <-a; s != "slept on v1" {
		t.Fatalf("call A: %q", s)
	}
	waitFor(t, 4*time.Second, "the queued swap ran once generation 1 drained", func() bool {
		p := h.Plugin(t, "svc")
		return p.Generation == 3 && p.SwapQueued == nil
	})
	var v string
	if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v3" {
		t.Fatalf("after the queued swap: %q %v", v, err)
	}
	if p := h.Plugin(t, "svc"); len(p.Draining) != 1 || p.Draining[0].Generation != 2 || p.Draining[0].InFlight != 1 {
		t.Fatalf("call B not draining on generation 2: %+v", p.Draining)
	}
	if s := <-b; s != "slept on v2" {
		t.Fatalf("call B: %q", s)
	}
	if p := h.Plugin(t, "svc"); p.Swaps != 2 {
		t.Fatalf("swaps %d, want 2", p.Swaps)
	}
}

// TestProbationRollsBack: a build that passes Describe and dies a second
// later is swapped in, dies on probation, and the host rolls back to the
// previous generation, kept alive for it: under a steady load no call
// fails, status, metrics and the log say so.
func TestProbationRollsBack(t *testing.T) {
	t.Parallel()
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	oldPID := h.Plugin(t, "svc").PID

	var mu sync.Mutex
	seen := map[string]int{}
	var failures []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one caller, 10 calls/s
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var v string
			err := c.Call(context.Background(), nil, "version", nil, &v)
			mu.Lock()
			if err != nil {
				failures = append(failures, err.Error())
			} else {
				seen[v]++
			}
			mu.Unlock()
		}
	}()
	install(t, faultyBuild(t, "v2", "crash-quiet"), path)
	code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", "")
	if code != 200 || !strings.Contains(string(body), "probation_until") {
		t.Fatalf("swap to the dying build: HTTP %d %s", code, body)
	}
	waitFor(t, 15*time.Second, "rollback", func() bool { return h.Plugin(t, "svc").Rollbacks == 1 })
	time.Sleep(time.Second) // a second more of load on the restored generation
	close(stop)
	wg.Wait()

	p := h.Plugin(t, "svc")
	if p.State != "serving" || p.Generation != 1 || p.PID != oldPID || p.Restarts != 0 || p.Probation != nil ||
		!strings.Contains(p.LastError, "rolled back to generation 1") {
		t.Fatalf("status after the rollback: %+v", p)
	}
	if len(failures) != 0 {
		t.Fatalf("%d calls failed; first: %s", len(failures), failures[0])
	}
	if seen["v2"] == 0 || seen["v1"] == 0 {
		t.Fatalf("versions seen %v: want v2 (on probation) then v1 (rolled back)", seen)
	}
	m := h.Metrics(t)
	if m[`oslohost_plugin_rollbacks_total{plugin="svc"}`] != 1 || m[`oslohost_plugin_swaps_total{plugin="svc",result="rolled_back"}`] != 1 {
		t.Fatalf("metrics: rollbacks %v", m[`oslohost_plugin_rollbacks_total{plugin="svc"}`])
	}
	if !strings.Contains(h.Log(), "rolled back to the previous one") {
		t.Fatal("the log does not say the swap was rolled back")
	}
	t.Logf("calls: %v, no failure", seen)
}
