package reliability

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// faultyHost runs the oslohost binary serving the faulty test plugin on a
// fresh topic of the shared broker; extra goes into the server block.
func faultyHost(t *testing.T, prefix, extra string) (*hostProc, *client.Client) {
	t.Helper()
	topic := pypeer.UniqueName(t, prefix)
	h := runHost(t, writeConfig(t, transportBlock(brokerURL())+adminBlock+fmt.Sprintf(`
host {
  drain_timeout = "20s"
}
plugin "faulty" {
  command = %q
}
server "s" {
  topic   = %q
  server  = "s1"
  plugins = ["faulty"]
%s
}
`, bin.faulty, topic, extra)))
	tr := dialClient(t, brokerURL(), "client-"+topic)
	return h, client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))
}

// TestPluginCrashStorm: under load from 6 callers, every tenth call asks
// the plugin to crash. Each crashing call gets a PluginCrashed failure;
// every other call gets its answer (calls that arrive while the plugin
// restarts wait up to 5 s for the new process) unless the host has put the
// plugin in crash-loop backoff longer than that, in which case they get
// PluginUnavailable; no call hangs, and the plugin serves again after the
// storm. Calls running in the process at the instant it dies get
// PluginCrashed too (at-most-once); they are counted separately.
func TestPluginCrashStorm(t *testing.T) {
	t.Parallel()
	h, c := faultyHost(t, "rel-crash", "")
	callers, perCaller := 6, 10 // 60 calls, 6 crashes
	if soaking() {
		perCaller = 30 // 180 calls, 18 crashes: deep into crash-loop backoff
	}
	var seq atomic.Int64
	type rec struct {
		crash   bool
		outcome string
		took    time.Duration
	}
	var mu sync.Mutex
	var recs []rec
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < callers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perCaller; i++ {
				crash := seq.Add(1)%10 == 0
				begin := time.Now()
				var res string
				err := c.Call(context.Background(), nil, "tick", map[string]bool{"crash": crash}, &res)
				mu.Lock()
				recs = append(recs, rec{crash: crash, outcome: outcome(err), took: time.Since(begin)})
				mu.Unlock()
				time.Sleep(20 * time.Millisecond) // pacing: about 300 calls/s offered
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Duration(perCaller) * 6 * time.Second): // 5 s restart wait at most per call
		t.Fatal("crash storm callers still busy: a call hangs")
	}
	elapsed := time.Since(start)
	crashOut, normalOut := tally{}, tally{}
	var slowest time.Duration
	for _, r := range recs {
		if r.crash {
			crashOut.add(r.outcome)
		} else {
			normalOut.add(r.outcome)
		}
		slowest = max(slowest, r.took)
	}
	st := h.Plugin(t, "faulty")
	t.Logf("result: crash storm: %d calls in %v, slowest %v; crashing calls %v; other calls %v; plugin restarts %d, state %s",
		len(recs), elapsed.Round(time.Millisecond), slowest.Round(time.Millisecond), crashOut.snapshot(), normalOut.snapshot(), st.Restarts, st.State)
	for k, n := range crashOut.snapshot() {
		if k != "remote:PluginCrashed" && k != "remote:PluginUnavailable" {
			t.Errorf("crashing calls: %d got %s, want PluginCrashed (or PluginUnavailable in crash-loop)", n, k)
		}
	}
	for k, n := range normalOut.snapshot() {
		if k != "ok" && k != "remote:PluginUnavailable" && k != "remote:PluginCrashed" {
			t.Errorf("other calls: %d got %s, want ok", n, k)
		}
	}
	if crashOut.get("remote:PluginCrashed") == 0 {
		t.Error("no crashing call got PluginCrashed")
	}
	if slowest > 20*time.Second {
		t.Errorf("a call took %v (timeout 20s)", slowest)
	}
	var res string
	took := waitFor(t, 60*time.Second, "plugin serves after the storm", func() bool {
		return c.Prepare(client.Timeout(2*time.Second)).Call(context.Background(), nil, "tick", nil, &res) == nil
	})
	t.Logf("result: crash storm: served again %v after the storm", took.Round(time.Millisecond))
}

// TestPluginHang: calls to a method that never returns in time (it
// ignores its deadline) get a PluginTimeout failure at the server's
// call_timeout, while a steady load of other calls keeps being served;
// afterwards the plugin still serves.
func TestPluginHang(t *testing.T) {
	t.Parallel()
	h, c := faultyHost(t, "rel-hang", `  call_timeout = "1s"`)
	l := startLoad(c, 3, "ok", nil, 10*time.Second, 10*time.Millisecond)
	const hangs = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	hangOut := tally{}
	var slowest time.Duration
	for i := 0; i < hangs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			begin := time.Now()
			err := c.Call(context.Background(), nil, "hang", map[string]float64{"seconds": 5}, nil)
			took := time.Since(begin)
			hangOut.add(outcome(err))
			mu.Lock()
			slowest = max(slowest, took)
			mu.Unlock()
		}()
	}
	wg.Wait()
	calls := l.finish(t)
	var res string
	if err := c.Call(bg(t, 30*time.Second), nil, "ok", nil, &res); err != nil || res != "ok" {
		t.Fatalf("plugin does not serve after the hangs: %q %v", res, err)
	}
	st := h.Plugin(t, "faulty")
	t.Logf("result: plugin hang: %d hanging calls -> %v, slowest %v (call_timeout 1s); load meanwhile %v; plugin state %s, restarts %d",
		hangs, hangOut.snapshot(), slowest.Round(time.Millisecond), summarize(calls), st.State, st.Restarts)
	if hangOut.get("remote:PluginTimeout") != hangs {
		t.Errorf("hanging calls: %v, want %d PluginTimeout", hangOut.snapshot(), hangs)
	}
	if slowest > 3*time.Second {
		t.Errorf("a hanging call took %v to fail, call_timeout is 1s", slowest)
	}
	if s := summarize(calls); s.byOutcome["ok"] != s.total {
		t.Errorf("load during the hangs: %v, want every call ok", s)
	}
}

// TestSwapDuringReconnect: the broker closes the host's connection while
// a hot swap of its plugin runs, under load, five times: both the
// reconnect and the swap succeed and no call is lost.
func TestSwapDuringReconnect(t *testing.T) {
	t.Parallel()
	h, c := faultyHost(t, "rel-swapreconn", "")
	l := startLoad(c, 4, "sleep", func(int, int) any { return map[string]float64{"seconds": 0.02} }, 20*time.Second, 5*time.Millisecond)
	token := "oslohost:" + strconv.Itoa(h.Pid()) + ":"
	var swapErrs []error
	var closed []int
	for i := 0; i < 5; i++ {
		base := l.count()
		waitFor(t, 20*time.Second, "load running", func() bool { return l.count() > base+20 })
		gen := h.Plugin(t, "faulty").Generation
		swapped := make(chan error, 1)
		go func() { swapped <- h.Swap(t, "faulty") }()
		closed = append(closed, pypeer.CloseConnections(t, token))
		if err := <-swapped; err != nil {
			swapErrs = append(swapErrs, err)
		}
		waitFor(t, 30*time.Second, "new generation serving", func() bool {
			p := h.Plugin(t, "faulty")
			return p.Generation > gen && p.State == "serving"
		})
		base = l.count()
		waitFor(t, 30*time.Second, "served again", func() bool { return l.count() > base+20 })
	}
	calls := l.finish(t)
	s := summarize(calls)
	m := h.Metrics(t)
	t.Logf("result: swap during reconnect: 5 rounds, connections closed %v, swap errors %v; load %v; broker_reconnects_total %v",
		closed, swapErrs, s, m["oslohost_broker_reconnects_total"])
	if len(swapErrs) > 0 {
		t.Errorf("swaps failed: %v", swapErrs)
	}
	if s.byOutcome["ok"] != s.total {
		t.Errorf("calls lost or failed: %v", s)
	}
	for i, n := range closed {
		if n < 1 {
			t.Errorf("round %d: no host connection closed", i+1)
		}
	}
}
