package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// The plugin binaries the tests run: builds of test/e2e/testdata/faulty
// that answer "version" with v1 and v2.
var bin struct{ v1, v2 string }

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "supervisor-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin.v1, bin.v2 = filepath.Join(dir, "faulty-v1"), filepath.Join(dir, "faulty-v2")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		const pkg = "github.com/oslohost/oslohost/test/e2e/testdata/faulty"
		for _, b := range []struct{ out, version string }{{bin.v1, "v1"}, {bin.v2, "v2"}} {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, "-ldflags", "-X main.version="+b.version, pkg)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "build plugin:", err)
				return 1
			}
		}
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}())
}

// recorder is an Observer and EndpointsChanged callback that hands each
// event to the test.
type recorder struct{ events chan string }

func newRecorder() *recorder { return &recorder{events: make(chan string, 100)} }

func (r *recorder) PluginUp(p string, up bool)     { r.events <- fmt.Sprintf("up %s %v", p, up) }
func (r *recorder) PluginRestarted(p string)       { r.events <- "restarted " + p }
func (r *recorder) PluginSwapped(p, result string) { r.events <- "swapped " + p + " " + result }
func (r *recorder) endpointsChanged(p string)      { r.events <- "endpoints " + p }

// await waits (bounded) for event, skipping others.
func (r *recorder) await(t *testing.T, event string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e == event {
				return
			}
		case <-timeout:
			t.Fatalf("no %q event", event)
		}
	}
}

// newSupervisor is a supervisor recording its events, shut down at the end.
func newSupervisor(t *testing.T, hs Settings) (*Supervisor, *recorder) {
	rec := newRecorder()
	sup := New(Config{
		Settings:         func() Settings { return hs },
		Observer:         rec,
		EndpointsChanged: rec.endpointsChanged,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = sup.Shutdown(ctx)
	})
	return sup, rec
}

func block(name, command string) *config.Plugin {
	return &config.Plugin{Name: name, Command: command}
}

// invoke calls method of p's serving generation and returns its result
// and the generation that answered.
func invoke(t *testing.T, p *Plugin, method string, args any) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := p.Begin(ctx, false)
	if err != nil {
		t.Fatalf("begin %s: %v", method, err)
	}
	defer c.End()
	res, err := call(c, method, args)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res, c.Generation()
}

func call(c *Call, method string, args any) (string, error) {
	a, _ := json.Marshal(args)
	resp, err := c.Endpoint().Invoke(c.Context(), &pluginv1.InvokeRequest{Version: "1.0", Method: method, ArgsJson: a, ContextJson: []byte("{}")})
	if err != nil {
		return "", err
	}
	if f := resp.GetFailure(); f != nil {
		return "", errors.New(f.GetMessage())
	}
	var s string
	err = json.Unmarshal(resp.GetResultJson(), &s)
	return s, err
}

// waitStatus waits (bounded) until ok holds for p's status.
func waitStatus(t *testing.T, p *Plugin, what string, ok func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := p.Status()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status stays %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashRestarts: a killed plugin process is noticed from its exit and
// restarted as a new generation, which then serves.
func TestCrashRestarts(t *testing.T) {
	sup, rec := newSupervisor(t, Settings{})
	p, err := sup.Add(context.Background(), block("crash", bin.v1))
	if err != nil {
		t.Fatal(err)
	}
	rec.await(t, "up crash true")
	if v, g := invoke(t, p, "version", nil); v != "v1" || g != 1 {
		t.Fatalf("version %q from generation %d", v, g)
	}
	pid := p.Status().PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "up crash false")
	rec.await(t, "restarted crash")
	rec.await(t, "up crash true")
	rec.await(t, "endpoints crash")
	st := p.Status()
	if st.State != StateServing || st.Generation != 2 || st.Restarts != 1 || st.PID == pid {
		t.Fatalf("after the restart: %+v", st)
	}
	if _, g := invoke(t, p, "version", nil); g != 2 {
		t.Fatalf("answered by generation %d", g)
	}
}

// TestSwapDrains: a swap routes new calls to the new generation at once;
// the call in flight on the old one finishes there, and the old process
// stops once it has.
func TestSwapDrains(t *testing.T) {
	sup, rec := newSupervisor(t, Settings{DrainTimeout: time.Minute, DrainCeiling: time.Minute})
	p, err := sup.Add(context.Background(), block("drain", bin.v1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	old, err := p.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan string, 1)
	go func() {
		defer old.End()
		res, err := call(old, "sleep", map[string]float64{"seconds": 1})
		if err != nil {
			res = err.Error()
		}
		slow <- res
	}()
	res, err := p.Swap(context.Background(), block("drain", bin.v2), false)
	if err != nil || res.Generation != 2 || res.Replaced != 1 || res.ProbationUntil != nil {
		t.Fatalf("swap = %+v, %v", res, err)
	}
	rec.await(t, "swapped drain ok")
	if v, g := invoke(t, p, "version", nil); v != "v2" || g != 2 {
		t.Fatalf("after the swap: version %q from generation %d", v, g)
	}
	if st := p.Status(); len(st.Draining) != 1 || st.Draining[0].Generation != 1 || st.Draining[0].InFlight != 1 {
		t.Fatalf("draining %+v", st.Draining)
	}
	select {
	case r := <-slow:
		if r != "slept on v1" {
			t.Fatalf("the call in flight got %q", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call in flight did not finish")
	}
	oldPID := old.g.pid()
	waitStatus(t, p, "old generation stops", func(st Status) bool { return len(st.Draining) == 0 })
	<-old.Exited()
	if err := syscall.Kill(oldPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("old process %d still there: %v", oldPID, err)
	}
}

// TestProbationRollsBack: a new generation that dies on probation is
// replaced by the one it replaced, which was kept alive for that.
func TestProbationRollsBack(t *testing.T) {
	sup, rec := newSupervisor(t, Settings{Probation: time.Minute, DrainTimeout: time.Second, DrainCeiling: time.Second})
	p, err := sup.Add(context.Background(), block("probation", bin.v1))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Swap(context.Background(), block("probation", bin.v2), false)
	if err != nil || res.ProbationUntil == nil {
		t.Fatalf("swap = %+v, %v", res, err)
	}
	st := p.Status()
	if st.Probation == nil || st.Probation.Fallback != 1 {
		t.Fatalf("probation %+v", st.Probation)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "swapped probation rolled_back")
	st = p.Status()
	if st.Generation != 1 || st.State != StateServing || st.Rollbacks != 1 || st.Probation != nil || st.Restarts != 0 {
		t.Fatalf("after the rollback: %+v", st)
	}
	if v, _ := invoke(t, p, "version", nil); v != "v1" {
		t.Fatalf("version %q after the rollback", v)
	}
	if p.Config().Command != bin.v1 {
		t.Fatalf("config in force %q", p.Config().Command)
	}
}

// TestRollbackPinsTheBinary: a build copied over the plugin's binary,
// swapped in and rolled back from stays on disk; a later crash of the
// restored generation restarts its own binary, not the file, until the
// next swap.
func TestRollbackPinsTheBinary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plugin")
	install := func(src string) { // as a deploy does: a new file renamed over the old
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+".new", b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	install(bin.v1)
	sup, rec := newSupervisor(t, Settings{Probation: time.Minute, DrainTimeout: time.Second, DrainCeiling: time.Second})
	p, err := sup.Add(context.Background(), block("pin", path))
	if err != nil {
		t.Fatal(err)
	}
	v1sum := p.Status().SHA256
	install(bin.v2)
	if _, err := p.Swap(context.Background(), block("pin", path), false); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(p.Status().PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "swapped pin rolled_back")
	st := p.Status()
	if !st.PinnedBinary || st.SHA256 != v1sum || !strings.Contains(st.LastError, "restarts run generation 1's binary") {
		t.Fatalf("after the rollback: %+v", st)
	}

	// The restored generation crashes: its binary restarts, not the file.
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "restarted pin")
	st = waitStatus(t, p, "restart", func(st Status) bool { return st.State == StateServing && st.Generation == 3 })
	if v, _ := invoke(t, p, "version", nil); v != "v1" || st.SHA256 != v1sum || !st.PinnedBinary || st.Path != path {
		t.Fatalf("after the restart: version %q, %+v", v, st)
	}

	// The next swap runs the file at the path again.
	if _, err := p.Swap(context.Background(), block("pin", path), false); err != nil {
		t.Fatal(err)
	}
	if v, _ := invoke(t, p, "version", nil); v != "v2" || p.Status().PinnedBinary {
		t.Fatalf("after the next swap: version %q, %+v", v, p.Status())
	}
}

// TestPrepare: a prepared generation serves only once committed; discarded,
// it leaves the serving one as it was. Meanwhile a swap is queued.
func TestPrepare(t *testing.T) {
	sup, rec := newSupervisor(t, Settings{})
	p, err := sup.Add(context.Background(), block("prep", bin.v1))
	if err != nil {
		t.Fatal(err)
	}
	pd, err := p.Prepare(context.Background(), block("prep", bin.v2))
	if err != nil {
		t.Fatal(err)
	}
	if v, g := invoke(t, p, "version", nil); v != "v1" || g != 1 {
		t.Fatalf("prepared generation serves: %q from %d", v, g)
	}
	newPID := pd.g.pid()
	pd.Discard(context.Background())
	if err := syscall.Kill(newPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("discarded process %d still there: %v", newPID, err)
	}
	if st := p.Status(); st.Generation != 1 || st.Swaps != 0 {
		t.Fatalf("after discard: %+v", st)
	}

	pd, err = p.Prepare(context.Background(), block("prep", bin.v2))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Swap(context.Background(), block("prep", bin.v1), false); err != nil || !res.Queued {
		t.Fatalf("swap while prepared = %+v, %v; want queued", res, err)
	}
	res, err := pd.Commit(context.Background())
	if err != nil || res.Generation != 3 || res.Replaced != 1 {
		t.Fatalf("commit = %+v, %v", res, err)
	}
	rec.await(t, "swapped prep ok")
	// The queued swap runs once the commit released the plugin.
	rec.await(t, "swapped prep ok")
	if v, g := invoke(t, p, "version", nil); v != "v1" || g != 4 {
		t.Fatalf("after the queued swap: %q from %d", v, g)
	}
	if st := p.Status(); st.SwapQueued != nil || st.Swaps != 2 {
		t.Fatalf("after the queued swap: %+v", st)
	}
}

// TestQueuedSwapWaitsForDrain: beyond max_draining a swap is queued, and
// runs when a call on an old generation ends, not later.
func TestQueuedSwapWaitsForDrain(t *testing.T) {
	sup, rec := newSupervisor(t, Settings{MaxDraining: 1, DrainTimeout: time.Minute, DrainCeiling: time.Minute})
	p, err := sup.Add(context.Background(), block("queue", bin.v1))
	if err != nil {
		t.Fatal(err)
	}
	// sleepOn keeps a call of seconds running on the serving generation.
	sleepOn := func(seconds float64) <-chan error {
		c, err := p.Begin(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			defer c.End()
			_, err := call(c, "sleep", map[string]float64{"seconds": seconds})
			done <- err
		}()
		return done
	}
	first := sleepOn(0.5)
	if _, err := p.Swap(context.Background(), block("queue", bin.v2), false); err != nil {
		t.Fatal(err)
	}
	rec.await(t, "swapped queue ok")
	second := sleepOn(3)
	res, err := p.Swap(context.Background(), block("queue", bin.v1), false)
	if err != nil || !res.Queued || res.Reason != "2 old generations would be draining, max_draining is 1" {
		t.Fatalf("swap = %+v, %v; want queued", res, err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	rec.await(t, "swapped queue ok")
	st := p.Status()
	if st.Generation != 3 || st.SwapQueued != nil || len(st.Draining) != 1 || st.Draining[0].Generation != 2 {
		t.Fatalf("after the queued swap: %+v", st)
	}
	select {
	case err := <-second:
		t.Fatalf("the queued swap waited for the second call (%v)", err)
	default:
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// TestShutdown stops every process, is idempotent, and refuses new plugins.
func TestShutdown(t *testing.T) {
	sup := New(Config{})
	var pids []int
	for _, name := range []string{"a", "b"} {
		p, err := sup.Add(context.Background(), block(name, bin.v1))
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p.Status().PID)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = sup.Shutdown(context.Background())
		}()
	}
	wg.Wait()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there: %v", pid, err)
		}
	}
	for _, p := range sup.Plugins() {
		if st := p.Status(); st.State != StateStopped {
			t.Errorf("%s is %s", st.Name, st.State)
		}
	}
	if _, err := sup.Add(context.Background(), block("c", bin.v1)); !errors.Is(err, ErrShutdown) {
		t.Fatalf("add after shutdown: %v", err)
	}
}

// TestAddFailure: a plugin that does not start stays, stopped, with why.
func TestAddFailure(t *testing.T) {
	sup, _ := newSupervisor(t, Settings{})
	_, err := sup.Add(context.Background(), block("missing", "/nonexistent/plugin"))
	if err == nil || BlamedAttr(err) != "command" {
		t.Fatalf("add = %v", err)
	}
	st := sup.Plugin("missing").Status()
	if st.State != StateStopped || st.LastError == "" {
		t.Fatalf("status %+v", st)
	}
}
