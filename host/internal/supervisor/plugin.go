package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/retry"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// Supervision settings.
const (
	// restartWait bounds how long a call waits for a restarting plugin.
	restartWait = 5 * time.Second
	// crashLoopCrashes crashes within crashLoopWindow mean a crash loop.
	crashLoopCrashes = 3
	crashLoopWindow  = time.Minute
	// restartBackoffMin/Max bound the restart delay (doubling, jittered).
	restartBackoffMin = 250 * time.Millisecond
	restartBackoffMax = 30 * time.Second
	// stableAfter: a generation that lived this long resets the backoff.
	stableAfter = 30 * time.Second
	// startCheck: a new process must stay up this long after Describe
	// before it gets traffic (catches builds that exit at once). A swapped-in
	// generation is on probation longer (host probation), with the
	// previous one kept to roll back to.
	startCheck = 300 * time.Millisecond
)

// Errors of a plugin's calls and swaps.
var (
	// ErrUnavailable: the plugin has no serving process now (and got none
	// within restartWait).
	ErrUnavailable = errors.New("plugin has no running process")
	// ErrStopped: the plugin was stopped (removed or shut down).
	ErrStopped = errors.New("plugin is stopped")
)

// Plugin is one configured plugin: the generation serving it now, swaps
// to a new generation, and restarts after crashes. Its methods are safe for
// concurrent use.
type Plugin struct {
	name string
	sup  *Supervisor
	log  hclog.Logger

	mu        sync.RWMutex
	cfg       *config.Plugin
	cur       *generation
	changed   chan struct{} // closed and replaced whenever cur changes
	state     string
	lastError string
	restarts  int
	swaps     int
	crashes   []time.Time
	nextTry   time.Time
	nextNum   int
	stopped   bool
	// draining are the old generations still alive: finishing their calls,
	// or kept as fallback.
	draining []*generation
	// fallback is the generation cur replaced, kept alive (serving no new
	// calls) until cur's probation ends at probationEnd, to roll back to.
	fallback     *generation
	fallbackCfg  *config.Plugin
	probationEnd time.Time
	rollbacks    int
	// pin, set by a rollback when the file at the command path is no
	// longer the binary the restored generation runs (a build replaced in
	// place, then rolled back from), is that generation's binary, opened
	// through /proc: restarts of pinCfg run it instead of the file. A
	// swap to another block ends it.
	pin    *os.File
	pinCfg *config.Plugin
	// queued is a swap waiting for a swap or restart in progress, or for
	// a draining generation to finish (max_draining).
	queued *queuedSwap

	// swapMu serializes swaps, restarts and rollbacks: never two at once.
	// It is released with unlockSwap.
	swapMu sync.Mutex
	// wake gets a token (never blocking) when swapMu is released or a call
	// ends: what a queued swap waits for.
	wake chan struct{}
	done chan struct{}
	hard chan struct{} // closed when stop cuts the calls of old generations
	wg   sync.WaitGroup
}

func newPlugin(sup *Supervisor, cfg *config.Plugin) *Plugin {
	return &Plugin{
		name: cfg.Name, sup: sup, cfg: cfg, log: sup.log.Named("plugin").Named(cfg.Name),
		changed: make(chan struct{}), wake: make(chan struct{}, 1), state: StateStarting, done: make(chan struct{}), hard: make(chan struct{}),
	}
}

// start launches the first generation and the supervisor.
func (s *Plugin) start(ctx context.Context) error {
	s.swapMu.Lock()
	defer s.unlockSwap()
	g, err := s.launch(ctx, s.Config())
	if err != nil {
		s.setState(StateStopped, err)
		return err
	}
	s.install(g)
	s.wg.Add(1)
	go s.supervise()
	return nil
}

// Name is the plugin's name.
func (s *Plugin) Name() string { return s.name }

// Config is the plugin block in force (the serving generation's).
func (s *Plugin) Config() *config.Plugin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// SetConfig replaces the plugin block in force by cfg, a block with the
// same settings written elsewhere (a reload moved it); a changed block
// needs a new generation: Swap or Prepare.
func (s *Plugin) SetConfig(cfg *config.Plugin) {
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
}

// launch starts a new generation and checks that it stays up briefly.
func (s *Plugin) launch(ctx context.Context, cfg *config.Plugin) (*generation, error) {
	var tel *pluginv1.Telemetry
	if f := s.sup.cfg.Telemetry; f != nil {
		tel = f(cfg.Name)
	}
	s.mu.RLock()
	exe := ""
	if s.pin != nil && s.pinCfg == cfg {
		exe = fmt.Sprintf("/proc/self/fd/%d", s.pin.Fd())
	}
	s.mu.RUnlock()
	p, err := startProcess(ctx, cfg, exe, s.sup.cfg.HostService, tel, s.sup.log)
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(startCheck)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.done:
	case <-ctx.Done():
		p.client.Kill()
		return nil, context.Cause(ctx)
	}
	if p.exited() {
		p.client.Kill()
		return nil, fmt.Errorf("plugin %q exited right after it started", cfg.Name)
	}
	s.mu.Lock()
	s.nextNum++
	num := s.nextNum
	s.mu.Unlock()
	g := newGeneration(num, p)
	g.onEnd = s.wakeQueued
	return g, nil
}

// install makes g the serving generation and returns the one it replaces.
func (s *Plugin) install(g *generation) *generation {
	s.mu.Lock()
	old := s.cur
	s.cur = g
	s.state = StateServing
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.sup.obs.PluginUp(s.name, true)
	s.log.Info("serving", "generation", g.num, "pid", g.pid())
	return old
}

func (s *Plugin) setState(state string, err error) {
	s.mu.Lock()
	s.state = state
	if err != nil {
		s.lastError = err.Error()
	}
	s.mu.Unlock()
}

// Begin begins a call on the serving generation, waiting up to
// restartWait while the plugin restarts or rolls back (then ErrUnavailable).
// The call must use the returned Call's Context and End it. A longLived
// call (its caller watches it with a call monitor) is kept by a drain until
// the ceiling even without a deadline.
func (s *Plugin) Begin(ctx context.Context, longLived bool) (*Call, error) {
	timer := time.NewTimer(restartWait)
	defer timer.Stop()
	for {
		s.mu.RLock()
		g, changed, stopped := s.cur, s.changed, s.stopped
		if g != nil && g.exited() {
			g = nil // dead, not yet replaced by the supervisor: wait for it
		}
		var c *inflightCall
		if g != nil {
			c = g.begin(ctx, longLived)
		}
		s.mu.RUnlock()
		if g != nil {
			return &Call{g: g, c: c}, nil
		}
		if stopped {
			return nil, ErrUnavailable
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, ErrUnavailable
		case <-ctx.Done():
			return nil, ErrUnavailable
		}
	}
}

// Describe is the serving generation's description (nil if none).
func (s *Plugin) Describe() *pluginv1.DescribeResponse {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cur == nil {
		return nil
	}
	return s.cur.proc.desc
}

// covers checks that next serves every endpoint and method of prev: the
// same namespace, a compatible version, every method.
func covers(next, prev *pluginv1.DescribeResponse) error {
	for _, pe := range prev.GetEndpoints() {
		found := false
		for _, ne := range next.GetEndpoints() {
			if ne.GetNamespace() != pe.GetNamespace() {
				continue
			}
			ok, err := oslo.Compatible(orDefault(ne.GetVersion()), orDefault(pe.GetVersion()))
			if err != nil || !ok {
				continue
			}
			missing := missingMethods(ne.GetMethods(), pe.GetMethods())
			if len(missing) == 0 {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("endpoint namespace %q version %s with methods %v", pe.GetNamespace(), orDefault(pe.GetVersion()), pe.GetMethods())
		}
	}
	return nil
}

func orDefault(v string) string {
	if v == "" {
		return "1.0"
	}
	return v
}

func missingMethods(have, want []string) []string {
	set := make(map[string]bool, len(have))
	for _, m := range have {
		set[m] = true
	}
	var out []string
	for _, m := range want {
		if !set[m] {
			out = append(out, m)
		}
	}
	return out
}

// supervise waits on the serving process's exit, rolling back to the
// previous generation when it died on probation and restarting the plugin
// otherwise, and ends the probation when it is over. It looks again
// whenever the serving generation changes.
func (s *Plugin) supervise() {
	defer s.wg.Done()
	probation := time.NewTimer(time.Hour) // armed only while a fallback is kept
	probation.Stop()
	for {
		s.mu.RLock()
		g, changed, fallback, end := s.cur, s.changed, s.fallback, s.probationEnd
		s.mu.RUnlock()
		var exited <-chan struct{} // nil: no serving process to watch
		if g != nil {
			exited = g.proc.done
		}
		var probationOver <-chan time.Time
		if fallback != nil {
			probation.Reset(time.Until(end))
			probationOver = probation.C
		}
		select {
		case <-s.done:
			return
		case <-changed:
		case <-probationOver:
			s.endProbation(false)
		case <-exited:
			if !s.rollBack(g) {
				s.crashed(g)
			}
		}
		probation.Stop() // a stale tick only makes endProbation look again
	}
}

// crashed takes a dead generation out of service and restarts the plugin
// with exponential backoff, entering crash-loop after repeated crashes.
func (s *Plugin) crashed(g *generation) {
	s.swapMu.Lock()
	defer s.unlockSwap()
	s.mu.Lock()
	if s.cur != g { // already replaced
		s.mu.Unlock()
		return
	}
	s.cur = nil
	close(s.changed)
	s.changed = make(chan struct{})
	s.state = StateRestarting
	s.dismissFallbackLocked() // past its probation (else rollBack had taken it)
	s.lastError = fmt.Sprintf("generation %d (pid %d) exited unexpectedly", g.num, g.pid())
	s.mu.Unlock()
	s.sup.obs.PluginUp(s.name, false)
	s.log.Error("plugin crashed; restarting", "generation", g.num, "lived", time.Since(g.started).Round(time.Millisecond))
	g.proc.client.Kill()

	attempt := 0
	if time.Since(g.started) < stableAfter {
		attempt = s.recentCrashes()
	}
	for {
		s.recordCrash()
		wait := backoff(attempt)
		s.mu.Lock()
		if len(s.crashes) >= crashLoopCrashes {
			s.state = StateCrashLoop
		}
		s.nextTry = time.Now().Add(wait)
		state := s.state
		s.mu.Unlock()
		s.log.Info("restarting plugin", "in", wait.Round(time.Millisecond), "state", state, "attempt", attempt+1)
		select {
		case <-s.done:
			return
		case <-time.After(wait):
		}
		s.sup.obs.PluginRestarted(s.name)
		s.mu.Lock()
		s.restarts++
		if q := s.queued; q != nil { // a swap asked for meanwhile: restart with it
			s.queued = nil
			s.cfg = q.cfg
			s.swaps++
			s.setPinLocked(nil, nil)
			s.log.Info("restarting with the queued swap", "queued_for", time.Since(q.since).Round(time.Millisecond))
		}
		s.mu.Unlock()
		ng, err := s.launch(context.Background(), s.Config())
		if err == nil {
			s.install(ng)
			s.sup.endpointsChanged(s.name)
			s.mu.Lock()
			s.nextTry = time.Time{}
			s.mu.Unlock()
			return
		}
		s.log.Error("plugin restart failed", "error", err)
		s.mu.Lock()
		s.lastError = err.Error()
		s.mu.Unlock()
		attempt++
	}
}

func (s *Plugin) recordCrash() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	keep := s.crashes[:0]
	for _, t := range s.crashes {
		if now.Sub(t) < crashLoopWindow {
			keep = append(keep, t)
		}
	}
	s.crashes = append(keep, now)
}

func (s *Plugin) recentCrashes() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, t := range s.crashes {
		if time.Since(t) < crashLoopWindow {
			n++
		}
	}
	return n
}

// backoff is restartBackoffMin doubled per attempt, capped, ±20 % jitter.
func backoff(attempt int) time.Duration {
	return retry.Jitter(retry.Doubling(restartBackoffMin, restartBackoffMax, attempt))
}

// stop ends supervision, drains the serving generation within ctx and
// stops every process of the plugin.
func (s *Plugin) stop(ctx context.Context) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.setPinLocked(nil, nil)
	g := s.cur
	s.cur = nil
	close(s.changed)
	s.changed = make(chan struct{})
	s.state = StateStopped
	s.queued = nil
	s.dismissFallbackLocked()
	s.mu.Unlock()
	close(s.done)
	// Wait for a swap or restart in progress, then for the old
	// generations to drain and stop; at the end of ctx their calls are cut.
	s.swapMu.Lock()
	s.unlockSwap() // a barrier
	s.sup.obs.PluginUp(s.name, false)
	if g != nil {
		hard := make(chan struct{})
		stopHard := context.AfterFunc(ctx, func() { close(hard) })
		g.drain(drainLimits{undated: farFuture, ceiling: farFuture, hard: hard}, nil)
		stopHard()
		g.proc.stop(ctx)
	}
	stopCut := context.AfterFunc(ctx, func() { close(s.hard) })
	defer stopCut()
	s.wg.Wait()
}

// farFuture is a time no drain reaches.
var farFuture = time.Now().AddDate(100, 0, 0)
