package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// svcHost runs a host serving one faulty-plugin "svc" from a binary path
// the test can replace; the admin API listens on a free port.
func svcHost(t *testing.T, build, extra string) (*hostProc, string, string) {
	t.Helper()
	return svcHostConfig(t, build, "", extra)
}

// svcHostConfig is svcHost with hostAttrs added to the host block.
func svcHostConfig(t *testing.T, build, hostAttrs, extra string) (*hostProc, string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "svc")
	install(t, build, path)
	topic := pypeer.UniqueName(t, "svc")
	h := runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
host {
  drain_timeout = "20s"
  %s
}
plugin "svc" {
  command = %q
%s
}
server "svc" {
  topic   = %q
  server  = "s1"
  plugins = ["svc"]
}
`, hostAttrs, path, extra, topic)))
	return h, path, topic
}

func goClient(t *testing.T, topic string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))
}

// TestSwapUnderLoad: 20 swaps alternating two builds under a steady load
// of several callers: no call fails or times out, and replies come from
// both builds.
func TestSwapUnderLoad(t *testing.T) {
	v1, v2 := faultyBuild(t, "v1", ""), faultyBuild(t, "v2", "")
	h, path, topic := svcHost(t, v1, "")
	c := goClient(t, topic)

	var calls, failures atomic.Int64
	var mu sync.Mutex
	seen := map[string]int{}
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const callers = 8
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(25 * time.Millisecond) // 40/s per caller, 320/s in all
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				var v string
				err := c.Call(context.Background(), nil, "version", nil, &v)
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				seen[v]++
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for i := 0; i < 20; i++ {
		build := v2
		if i%2 == 1 {
			build = v1
		}
		install(t, build, path)
		if code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", ""); code != 200 {
			t.Fatalf("swap %d: HTTP %d %s", i+1, code, body)
		}
		time.Sleep(100 * time.Millisecond) // let load run on each generation
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	rate := float64(calls.Load()) / elapsed.Seconds()
	t.Logf("%d calls in %v (%.0f/s) across 20 swaps; versions seen %v", calls.Load(), elapsed.Round(time.Millisecond), rate, seen)
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d of %d calls failed during swaps; first: %v", f, calls.Load(), firstErr.Load())
	}
	if seen["v1"] == 0 || seen["v2"] == 0 {
		t.Fatalf("versions seen %v, want both", seen)
	}
	if rate < 200 {
		t.Logf("note: the load was %.0f calls/s (target 200/s)", rate)
	}
	if p := h.Plugin(t, "svc"); p.Swaps != 20 || p.State != "serving" {
		t.Fatalf("status after 20 swaps: %+v", p)
	}
}

// TestLongCallSurvivesSwap: a call in flight during a swap completes on
// the old generation.
func TestLongCallSurvivesSwap(t *testing.T) {
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	done := make(chan string, 1)
	go func() {
		var s string
		if err := c.Call(context.Background(), nil, "sleep", map[string]any{"seconds": 3}, &s); err != nil {
			s = "error: " + err.Error()
		}
		done <- s
	}()
	waitFor(t, 10*time.Second, "the long call reaches the plugin", func() bool { return h.Plugin(t, "svc").InFlight == 1 })
	install(t, faultyBuild(t, "v2", ""), path)
	if code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", ""); code != 200 {
		t.Fatalf("swap: HTTP %d %s", code, body)
	}
	var v string
	if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v2" {
		t.Fatalf("after the swap: %q %v", v, err)
	}
	if d := h.Plugin(t, "svc").Draining; len(d) != 1 || d[0].InFlight != 1 {
		t.Fatalf("old generation not draining with its call: %+v", d)
	}
	select {
	case s := <-done:
		if s != "slept on v1" {
			t.Fatalf("long call: %q", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("long call did not complete")
	}
	waitFor(t, 10*time.Second, "old generation stopped", func() bool { return len(h.Plugin(t, "svc").Draining) == 0 })
}

// TestBrokenBuildRollsBack: a new build that exits at start or fails to
// configure is refused; the old generation keeps serving and status says
// why.
func TestBrokenBuildRollsBack(t *testing.T) {
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	for _, mode := range []string{"exit-at-start", "bad-config"} {
		t.Run(mode, func(t *testing.T) {
			install(t, faultyBuild(t, "broken", mode), path)
			code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", "")
			if code != 409 {
				t.Fatalf("swap to a broken build: HTTP %d %s", code, body)
			}
			var v string
			if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v1" {
				t.Fatalf("old generation not serving: %q %v", v, err)
			}
			p := h.Plugin(t, "svc")
			if p.State != "serving" || !strings.Contains(p.LastError, "swap") {
				t.Fatalf("status: %+v", p)
			}
		})
	}
}

// TestCrashAndRestart: a method that kills its plugin gets a crash failure
// within a second; later calls succeed once the plugin is restarted; a
// build that crashes on every start ends in crash-loop with backoff shown.
func TestCrashAndRestart(t *testing.T) {
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	start := time.Now()
	err := c.Call(context.Background(), nil, "exit", nil, nil)
	var re *client.RemoteError
	if !errors.As(err, &re) || re.Class != "PluginCrashed" || time.Since(start) > time.Second {
		t.Fatalf("crash: %v after %v", err, time.Since(start))
	}
	var v string
	if err := c.Call(context.Background(), nil, "version", nil, &v); err != nil || v != "v1" {
		t.Fatalf("after the restart: %q %v", v, err)
	}
	if p := h.Plugin(t, "svc"); p.Restarts != 1 || p.State != "serving" || p.Generation != 2 {
		t.Fatalf("status after a crash: %+v", p)
	}

	// Every start now crashes a second later.
	install(t, faultyBuild(t, "v1", "crash-later"), path)
	_ = c.Call(context.Background(), nil, "exit", nil, nil)
	waitFor(t, 30*time.Second, "crash-loop state", func() bool { return h.Plugin(t, "svc").State == "crash-loop" })
	p := h.Plugin(t, "svc")
	if p.Restarts < 2 || p.LastError == "" || p.NextRestart == nil {
		t.Fatalf("crash-loop status: %+v", p)
	}
	t.Logf("crash-loop: %d restarts, last error %q, next restart %v", p.Restarts, p.LastError, p.NextRestart)
	// While it restarts, calls wait a bounded time, then fail clearly.
	err = c.Prepare(client.Timeout(30*time.Second)).Call(context.Background(), nil, "version", nil, &v)
	if err != nil && !errors.As(err, &re) {
		t.Fatalf("call during crash-loop: %v", err)
	}
}

// TestKillHostKillsPlugins: kill -9 of the host takes its plugins with it.
func TestKillHostKillsPlugins(t *testing.T) {
	h, _, _ := svcHost(t, faultyBuild(t, "v1", ""), "")
	pid := h.Plugin(t, "svc").PID
	if pid == 0 {
		t.Fatal("no plugin pid in status")
	}
	if err := h.Process().Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "plugin process gone after kill -9 of the host", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
}

// TestSIGTERMUnderLoad: calls in flight when SIGTERM arrives complete,
// then the host exits 0.
func TestSIGTERMUnderLoad(t *testing.T) {
	h, _, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	const n = 20
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			var s string
			results <- c.Call(context.Background(), nil, "sleep", map[string]any{"seconds": 1.5}, &s)
		}()
	}
	waitFor(t, 10*time.Second, "all calls in flight", func() bool { return h.Plugin(t, "svc").InFlight == n })
	if err := h.Process().Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := <-results; err != nil {
			t.Fatalf("in-flight call %d: %v", i, err)
		}
	}
	if err := h.WaitExit(t, 30*time.Second); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

// TestWatchSwapsChangedBinary: watch = true swaps the plugin when its
// binary is replaced.
func TestWatchSwapsChangedBinary(t *testing.T) {
	h, path, topic := svcHost(t, faultyBuild(t, "v1", ""), "  watch = true")
	c := goClient(t, topic)
	install(t, faultyBuild(t, "v2", ""), path)
	waitFor(t, 15*time.Second, "swap to v2 after the binary changed", func() bool {
		var v string
		return c.Call(context.Background(), nil, "version", nil, &v) == nil && v == "v2"
	})
	if p := h.Plugin(t, "svc"); p.Swaps != 1 {
		t.Fatalf("swaps %d, want 1", p.Swaps)
	}
}

// TestSIGHUPReload: SIGHUP applies a changed config (a server added); a
// config that does not load is refused and the old one keeps running.
func TestSIGHUPReload(t *testing.T) {
	v1 := faultyBuild(t, "v1", "")
	topic, topic2 := pypeer.UniqueName(t, "hup"), pypeer.UniqueName(t, "hup2")
	base := transportBlock() + adminBlock + fmt.Sprintf(`
plugin "svc" {
  command = %q
}
server "a" {
  topic   = %q
  plugins = ["svc"]
}
`, v1, topic)
	cfg := writeConfig(t, base)
	h := runHost(t, cfg)
	c2 := goClient(t, topic2)
	// Add a server.
	if err := os.WriteFile(cfg, []byte(base+fmt.Sprintf("server \"b\" {\n  topic = %q\n  plugins = [\"svc\"]\n}\n", topic2)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := h.Process().Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "server b serving after SIGHUP", func() bool {
		var v string
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return c2.Prepare(client.Timeout(2*time.Second)).Call(ctx, nil, "version", nil, &v) == nil
	})
	// A broken config is refused whole.
	if err := os.WriteFile(cfg, []byte(base+"server \"c\" {\n  plugins = [\"nope\"]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := h.Admin(t, "POST", "/v1/reload", "")
	if code != 422 || !strings.Contains(string(body), "reload refused") || !strings.Contains(string(body), "does not load") {
		t.Fatalf("broken config: HTTP %d %s", code, body)
	}
	var v string
	if err := c2.Call(context.Background(), nil, "version", nil, &v); err != nil {
		t.Fatalf("old config no longer served: %v", err)
	}
}

// TestAdminAPI: health, readiness, metrics, status and the token.
func TestAdminAPI(t *testing.T) {
	h, _, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	if err := c.Call(context.Background(), nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := h.Admin(t, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, b := h.Admin(t, "GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz %d %s", code, b)
	}
	code, b := h.Admin(t, "GET", "/metrics", "")
	for _, want := range []string{`oslohost_rpc_calls_total{method="ok",outcome="ok",server="svc"} 1`, "oslohost_plugin_up{plugin=\"svc\"} 1", "oslohost_rpc_call_duration_seconds_bucket"} {
		if code != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("metrics lack %q (HTTP %d)", want, code)
		}
	}
	st := h.Status(t)
	if !st.Broker.Connected || strings.Contains(st.Broker.URL, "guest:guest") || len(st.Servers) != 1 {
		t.Fatalf("status %+v", st)
	}

	// With a token.
	topicT := pypeer.UniqueName(t, "tok")
	ht := runHost(t, writeConfig(t, transportBlock()+fmt.Sprintf(`
admin {
  listen = "127.0.0.1:0"
  token  = "s3cret"
}
plugin "svc" {
  command = %q
}
server "svc" {
  topic   = %q
  plugins = ["svc"]
}
`, faultyBuild(t, "v1", ""), topicT)))
	for _, p := range []string{"/v1/status", "/metrics"} {
		if code, _ := ht.Admin(t, "GET", p, ""); code != 401 {
			t.Fatalf("%s without token: HTTP %d", p, code)
		}
		if code, _ := ht.Admin(t, "GET", p, "wrong"); code != 401 {
			t.Fatalf("%s with a wrong token: HTTP %d", p, code)
		}
		if code, _ := ht.Admin(t, "GET", p, "s3cret"); code != 200 {
			t.Fatalf("%s with the token: HTTP %d", p, code)
		}
	}
	if code, _ := ht.Admin(t, "GET", "/healthz", ""); code != 200 {
		t.Fatal("healthz must not need the token")
	}
	if strings.Contains(ht.Log(), "s3cret") {
		t.Fatal("the token appears in the log")
	}
}
