package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/oslohost/oslohost/host/config"
)

// SwapResult says what a swap did: the new generation and the one it
// replaced (0 for none).
type SwapResult struct {
	Plugin     string
	Generation int
	Replaced   int
	// ProbationUntil is when the new generation's probation ends: if it
	// dies before, the previous one serves again.
	ProbationUntil *time.Time
	// Queued: the swap waits for a swap or restart in progress, or for an
	// old generation to finish draining (max_draining); Reason says which.
	Queued bool
	Reason string
}

// queuedSwap is a swap asked for while another could not start; later
// requests fold into it (the latest configuration wins).
type queuedSwap struct {
	cfg    *config.Plugin
	strict bool
	since  time.Time
	reason string
}

// Swap starts a new generation with cfg beside the serving one, checks it,
// switches routing to it atomically and drains the old one in the
// background; the old one is kept, serving no new calls, until the new
// one's probation ends, and the host rolls back to it if the new one dies
// before. If the new generation fails to start, the old keeps serving.
// With strict, the new generation must serve every endpoint and method the
// old one did (a binary swap); a changed configuration may change them.
//
// A swap never waits for a drain: when a swap or restart is in progress,
// or max_draining old generations are still finishing calls, it is queued
// (Queued in the result) and runs as soon as it can.
//
// Swap is safe for concurrent use.
func (s *Plugin) Swap(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	max := s.sup.settings().MaxDraining // before s.mu: the owner's locks come first
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return res, ErrStopped
	}
	reason := ""
	if s.queued != nil {
		reason = "another swap is queued"
	} else if n := s.drainingAfterSwapLocked(); max > 0 && n > max {
		reason = fmt.Sprintf("%d old generations would be draining, max_draining is %d", n, max)
	} else if !s.swapMu.TryLock() {
		reason = "a swap or restart is in progress"
	}
	if reason != "" {
		s.enqueueLocked(cfg, strict, reason)
		s.mu.Unlock()
		res.Queued, res.Reason = true, reason
		return res, nil
	}
	s.mu.Unlock()
	defer s.unlockSwap()
	return s.swapLocked(ctx, cfg, strict)
}

// enqueueLocked queues a swap (s.mu held), starting the runner for the
// first one.
func (s *Plugin) enqueueLocked(cfg *config.Plugin, strict bool, reason string) {
	if q := s.queued; q != nil {
		// A configuration change replaces the queued one's; a binary swap
		// (strict, of the configuration in force) keeps it: the queued
		// swap starts the binary on disk then anyway.
		if !strict {
			q.cfg = cfg
		}
		q.strict, q.reason = q.strict && strict, reason
		s.log.Info("swap folded into the one already queued")
		return
	}
	s.queued = &queuedSwap{cfg: cfg, strict: strict, since: time.Now(), reason: reason}
	s.log.Info("swap queued", "reason", reason)
	s.wg.Add(1)
	go s.runQueued()
}

// drainingAfterSwapLocked is how many old generations would be finishing
// calls right after a swap now: those with calls in flight, and the
// serving one if it has some.
func (s *Plugin) drainingAfterSwapLocked() int {
	n := 0
	for _, g := range s.draining {
		if g.InFlight() > 0 {
			n++
		}
	}
	if s.cur != nil && s.cur.InFlight() > 0 {
		n++
	}
	return n
}

// runQueued runs the queued swap once it can start: it looks at once and
// again at each wake (a swap, restart or rollback ended, or a call did,
// which may bring the old generations under max_draining).
func (s *Plugin) runQueued() {
	defer s.wg.Done()
	for !s.tryQueued() {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
	}
}

// tryQueued runs the queued swap if it can start now; it reports whether
// the queue is done with (the swap ran, or none is queued any more).
func (s *Plugin) tryQueued() bool {
	if !s.swapMu.TryLock() {
		return false
	}
	defer s.unlockSwap()
	max := s.sup.settings().MaxDraining
	s.mu.Lock()
	q := s.queued
	if q == nil || s.stopped {
		s.mu.Unlock()
		return true
	}
	if n := s.drainingAfterSwapLocked(); max > 0 && n > max {
		s.mu.Unlock()
		return false
	}
	s.queued = nil
	s.mu.Unlock()
	s.log.Info("running the queued swap", "queued_for", time.Since(q.since).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = s.swapLocked(ctx, q.cfg, q.strict) // logged and counted there
	return true
}

// unlockSwap releases swapMu and wakes a queued swap.
func (s *Plugin) unlockSwap() {
	s.swapMu.Unlock()
	s.wakeQueued()
}

// wakeQueued wakes the queued swap's runner, if one waits; it never blocks.
func (s *Plugin) wakeQueued() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// swapLocked is swap with swapMu held.
func (s *Plugin) swapLocked(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res, err := s.switchTo(ctx, cfg, strict)
	if err != nil {
		s.sup.obs.PluginSwapped(s.name, SwapFailed)
		s.log.Error("swap failed; the serving generation stays", "error", err)
		s.mu.Lock()
		s.lastError = "swap: " + err.Error()
		s.mu.Unlock()
		return res, err
	}
	s.sup.obs.PluginSwapped(s.name, SwapOK)
	return res, nil
}

func (s *Plugin) switchTo(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	g, err := s.launch(ctx, cfg)
	if err != nil {
		return res, err
	}
	if prev := s.Describe(); strict && prev != nil {
		if err := covers(g.proc.desc, prev); err != nil {
			g.proc.stop(ctx)
			return res, fmt.Errorf("new generation does not serve what the old one did: %w", err)
		}
	}
	return s.takeOver(ctx, g, cfg)
}

// takeOver makes g, a new generation started with cfg, serve (swapMu
// held): routing switches to it atomically, the old generation drains in
// the background and, with a probation, is kept as the fallback. A
// [Pending] swap commits through it.
func (s *Plugin) takeOver(ctx context.Context, g *generation, cfg *config.Plugin) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	hs := s.sup.settings()
	now := time.Now()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		g.proc.stop(ctx)
		return res, ErrStopped
	}
	oldCfg := s.cfg
	s.cfg = cfg
	s.swaps++
	s.setPinLocked(nil, nil)  // the new generation runs the file at its path
	s.dismissFallbackLocked() // the generation on probation is replaced: its fallback goes
	old := s.cur
	s.cur = g
	s.state = StateServing
	close(s.changed)
	s.changed = make(chan struct{})
	if old != nil {
		old.mu.Lock()
		old.retiredAt, old.drained = now, false
		old.mu.Unlock()
		ret := newRetirement()
		old.ret = ret
		s.draining = append(s.draining, old)
		if p := probationOf(hs, cfg); p > 0 {
			s.fallback, s.fallbackCfg, s.probationEnd = old, oldCfg, now.Add(p)
			until := s.probationEnd
			res.ProbationUntil = &until
		} else {
			close(ret.dismissed)
		}
		s.wg.Add(1)
		go s.retire(old, ret, drainLimits{
			undated: now.Add(hs.DrainTimeout),
			ceiling: now.Add(drainCeilingOf(hs, oldCfg)),
			hard:    s.hard,
		})
	}
	s.mu.Unlock()
	s.sup.obs.PluginUp(s.name, true)
	s.sup.endpointsChanged(s.name)
	res.Generation = g.num
	if old != nil {
		res.Replaced = old.num
	}
	s.log.Info("swapped", "generation", g.num, "pid", g.pid(), "replaced", res.Replaced, "probation_until", res.ProbationUntil)
	return res, nil
}

// probationOf is the probation of a new generation of plugin p.
func probationOf(hs Settings, p *config.Plugin) time.Duration {
	if p.Probation != nil {
		return p.Probation.Duration()
	}
	return hs.Probation
}

// drainCeilingOf is the drain ceiling of an old generation of plugin p.
func drainCeilingOf(hs Settings, p *config.Plugin) time.Duration {
	if p.DrainCeiling != nil {
		return p.DrainCeiling.Duration()
	}
	return hs.DrainCeiling
}

// retire drains an old generation (each call until its caller's deadline,
// bounded by drain_timeout for calls without one and by drain_ceiling for
// all), waits while it is kept as fallback, and stops it, unless a
// rollback restored it.
func (s *Plugin) retire(old *generation, ret *retirement, l drainLimits) {
	defer s.wg.Done()
	idle := old.drain(l, ret.restored)
	select {
	case <-ret.restored:
		return
	default:
	}
	old.mu.Lock()
	old.drained = true
	cut := old.cut
	old.mu.Unlock()
	select {
	case <-ret.restored:
		return
	default:
	}
	if !idle {
		s.log.Warn("drain gave up; stopping the old generation with calls in flight", "generation", old.num, "in_flight", old.InFlight(), "cut", cut)
	} else if cut > 0 {
		s.log.Warn("calls cut by the drain limits", "generation", old.num, "cut", cut)
	}
	select {
	case <-ret.dismissed:
	case <-ret.restored:
		return
	}
	old.proc.stop(context.Background())
	s.mu.Lock()
	s.forgetOldLocked(old)
	s.mu.Unlock()
	s.log.Debug("old generation stopped", "generation", old.num)
}

// forgetOldLocked removes g from the old generations.
func (s *Plugin) forgetOldLocked(g *generation) {
	for i, d := range s.draining {
		if d == g {
			s.draining = append(s.draining[:i], s.draining[i+1:]...)
			return
		}
	}
}

// dismissFallbackLocked lets the fallback go (its retire stops it once it
// has drained).
func (s *Plugin) dismissFallbackLocked() {
	if fb := s.fallback; fb != nil {
		close(fb.ret.dismissed)
		s.fallback, s.fallbackCfg, s.probationEnd = nil, nil, time.Time{}
	}
}

// endProbation ends the serving generation's probation once it is over
// (or at once with now), letting the fallback go.
func (s *Plugin) endProbation(now bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fallback == nil || (!now && time.Now().Before(s.probationEnd)) {
		return
	}
	s.log.Info("probation passed; the previous generation goes", "generation", s.cur.numOr0(), "previous", s.fallback.num)
	s.dismissFallbackLocked()
}

func (g *generation) numOr0() int {
	if g == nil {
		return 0
	}
	return g.num
}

// rollBack makes the fallback serve again when the serving generation g
// died within its probation; it reports whether it did.
func (s *Plugin) rollBack(g *generation) bool {
	s.swapMu.Lock()
	defer s.unlockSwap()
	s.mu.Lock()
	fb := s.fallback
	if s.cur != g || fb == nil || fb.exited() || !time.Now().Before(s.probationEnd) {
		s.mu.Unlock()
		return false
	}
	lived := time.Since(g.started).Round(time.Millisecond)
	s.cur = fb
	s.cfg = s.fallbackCfg
	s.fallback, s.fallbackCfg, s.probationEnd = nil, nil, time.Time{}
	s.forgetOldLocked(fb)
	fb.mu.Lock()
	fb.retiredAt, fb.drained = time.Time{}, false
	fb.mu.Unlock()
	close(fb.ret.restored)
	fb.ret = nil
	s.state = StateServing
	s.rollbacks++
	s.lastError = fmt.Sprintf("generation %d (pid %d) died %s into its probation; rolled back to generation %d", g.num, g.pid(), lived, fb.num)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	g.proc.client.Kill()
	s.log.Error("new generation died on probation; rolled back to the previous one", "generation", g.num, "lived", lived, "serving", fb.num, "pid", fb.pid())
	s.pinBinary(fb)
	s.sup.obs.PluginSwapped(s.name, SwapRolledBack)
	s.sup.endpointsChanged(s.name)
	return true
}

// pinBinary keeps the binary generation fb runs for its restarts when the
// file at its command path is another one now (swapMu held): a build
// copied over the old one, swapped in and rolled back from would
// otherwise be what a restart of fb runs. The binary is opened through
// /proc/PID/exe, which names the file the process runs even after its
// path was replaced.
func (s *Plugin) pinBinary(fb *generation) {
	now := fileSHA256(fb.proc.path)
	if fb.proc.sha256 == "" || now == fb.proc.sha256 {
		return
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/exe", fb.pid()))
	if err == nil && fileSHA256(f.Name()) != fb.proc.sha256 {
		f.Close()
		err = errors.New("it is not the binary the generation started with (an interpreter runs it?)")
	}
	if err != nil {
		s.log.Warn("the file at the command path changed; a restart will run it", "path", fb.proc.path, "sha256", orUnreadable(now), "error", err)
		return
	}
	s.mu.Lock()
	s.setPinLocked(f, s.cfg)
	s.lastError += fmt.Sprintf("; restarts run generation %d's binary (sha256 %s), not the file now at %s (sha256 %s), until the next swap",
		fb.num, fb.proc.sha256, fb.proc.path, orUnreadable(now))
	s.mu.Unlock()
	s.log.Warn("the file at the command path is the build rolled back from; restarts run the restored generation's binary until the next swap",
		"path", fb.proc.path, "file_sha256", orUnreadable(now), "pinned_sha256", fb.proc.sha256)
}

// setPinLocked replaces the pinned binary (nil: none) of cfg (s.mu held).
func (s *Plugin) setPinLocked(f *os.File, cfg *config.Plugin) {
	if s.pin != nil {
		s.pin.Close()
	}
	s.pin, s.pinCfg = f, cfg
	if f == nil {
		s.pinCfg = nil
	}
}

// Pending is a new generation started by [Plugin.Prepare] beside the
// serving one, not serving yet. Until Commit or Discard no other swap or
// restart of the plugin runs. Commit and Discard are not safe for
// concurrent use; exactly one of them must be called, once.
type Pending struct {
	p   *Plugin
	cfg *config.Plugin
	g   *generation
}

// Prepare starts a new generation of the plugin with cfg, for a change of
// configuration that must apply all at once with others (a reload): it
// waits for a swap or restart in progress, then holds the plugin's swaps
// until the Pending is committed or discarded. On error nothing changed.
func (s *Plugin) Prepare(ctx context.Context, cfg *config.Plugin) (*Pending, error) {
	s.swapMu.Lock()
	s.mu.RLock()
	stopped := s.stopped
	s.mu.RUnlock()
	if stopped {
		s.unlockSwap()
		return nil, ErrStopped
	}
	g, err := s.launch(ctx, cfg)
	if err != nil {
		s.unlockSwap()
		return nil, err
	}
	return &Pending{p: s, cfg: cfg, g: g}, nil
}

// Commit makes the new generation serve, as a swap does, and releases the
// plugin for the next swap. It fails only when the plugin was stopped
// meanwhile; the new generation is stopped then.
func (pd *Pending) Commit(ctx context.Context) (SwapResult, error) {
	s := pd.p
	defer s.unlockSwap()
	res, err := s.takeOver(ctx, pd.g, pd.cfg)
	if err != nil {
		s.log.Warn("reload: the new generation was not installed", "error", err)
		return res, err
	}
	s.sup.obs.PluginSwapped(s.name, SwapOK)
	return res, nil
}

// Discard stops the new generation (within ctx) and releases the plugin;
// the serving generation is untouched.
func (pd *Pending) Discard(ctx context.Context) {
	pd.g.proc.stop(ctx)
	pd.p.unlockSwap()
}
