package host

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oslohost/oslohost/host/config"
)

// SwapResult says what a swap did.
type SwapResult struct {
	Plugin     string `json:"plugin"`
	Generation int    `json:"generation,omitempty"`
	Replaced   int    `json:"replaced,omitempty"`
	// ProbationUntil is when the new generation's probation ends: if it
	// dies before, the host rolls back to the replaced one.
	ProbationUntil *time.Time `json:"probation_until,omitempty"`
	// Queued: the swap waits for a swap or restart in progress, or for an
	// old generation to finish draining (max_draining); Reason says which.
	Queued bool   `json:"queued,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// queuedSwap is a swap asked for while another could not start; later
// requests fold into it (the latest configuration wins).
type queuedSwap struct {
	cfg    *config.Plugin
	strict bool
	since  time.Time
	reason string
}

// swap starts a new generation with cfg beside the serving one, checks it,
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
func (s *pluginSlot) swap(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	max := s.h.hostConfig().MaxDraining // before s.mu: the host's mu comes first
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return res, errors.New("plugin is stopped")
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
	defer s.swapMu.Unlock()
	return s.swapLocked(ctx, cfg, strict)
}

// enqueueLocked queues a swap (s.mu held), starting the runner for the
// first one.
func (s *pluginSlot) enqueueLocked(cfg *config.Plugin, strict bool, reason string) {
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
func (s *pluginSlot) drainingAfterSwapLocked() int {
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

// runQueued runs the queued swap once it can start.
func (s *pluginSlot) runQueued() {
	defer s.wg.Done()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		if !s.swapMu.TryLock() {
			continue
		}
		max := s.h.hostConfig().MaxDraining
		s.mu.Lock()
		q := s.queued
		if q == nil || s.stopped {
			s.mu.Unlock()
			s.swapMu.Unlock()
			return
		}
		if n := s.drainingAfterSwapLocked(); max > 0 && n > max {
			s.mu.Unlock()
			s.swapMu.Unlock()
			continue
		}
		s.queued = nil
		s.mu.Unlock()
		s.log.Info("running the queued swap", "queued_for", time.Since(q.since).Round(time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, _ = s.swapLocked(ctx, q.cfg, q.strict) // logged and counted there
		cancel()
		s.swapMu.Unlock()
		return
	}
}

// swapLocked is swap with swapMu held.
func (s *pluginSlot) swapLocked(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res, err := s.switchTo(ctx, cfg, strict)
	if err != nil {
		s.h.metrics.swaps.WithLabelValues(s.name, "failed").Inc()
		s.log.Error("swap failed; the serving generation stays", "error", err)
		s.mu.Lock()
		s.lastError = "swap: " + err.Error()
		s.mu.Unlock()
		return res, err
	}
	s.h.metrics.swaps.WithLabelValues(s.name, "ok").Inc()
	return res, nil
}

func (s *pluginSlot) switchTo(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	g, err := s.launch(ctx, cfg)
	if err != nil {
		return res, err
	}
	if prev := s.describe(); strict && prev != nil {
		if err := covers(g.proc.desc, prev); err != nil {
			g.proc.stop(ctx)
			return res, fmt.Errorf("new generation does not serve what the old one did: %w", err)
		}
	}
	return s.takeOver(ctx, g, cfg)
}

// takeOver makes g, a new generation started with cfg, serve (swapMu
// held): routing switches to it atomically, the old generation drains in
// the background and, with a probation, is kept as the fallback. A reload
// calls it for the generations it started beforehand.
func (s *pluginSlot) takeOver(ctx context.Context, g *generation, cfg *config.Plugin) (SwapResult, error) {
	res := SwapResult{Plugin: s.name}
	hc := s.h.hostConfig()
	now := time.Now()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		g.proc.stop(ctx)
		return res, errors.New("plugin is stopped")
	}
	oldCfg := s.cfg
	s.cfg = cfg
	s.swaps++
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
		if p := probationOf(hc, cfg); p > 0 {
			s.fallback, s.fallbackCfg, s.probationEnd = old, oldCfg, now.Add(p)
			until := s.probationEnd
			res.ProbationUntil = &until
		} else {
			close(ret.dismissed)
		}
		s.wg.Add(1)
		go s.retire(old, ret, drainLimits{
			undated: now.Add(hc.DrainTimeout.Duration()),
			ceiling: now.Add(drainCeilingOf(hc, oldCfg)),
			hard:    s.hard,
		})
	}
	s.mu.Unlock()
	s.h.metrics.pluginUp.WithLabelValues(s.name).Set(1)
	s.h.refreshEndpoints(s.name)
	res.Generation = g.num
	if old != nil {
		res.Replaced = old.num
	}
	s.log.Info("swapped", "generation", g.num, "pid", g.pid(), "replaced", res.Replaced, "probation_until", res.ProbationUntil)
	return res, nil
}

// probationOf is the probation of a new generation of plugin p.
func probationOf(hc config.Host, p *config.Plugin) time.Duration {
	if p.Probation != nil {
		return p.Probation.Duration()
	}
	return hc.Probation.Duration()
}

// drainCeilingOf is the drain ceiling of an old generation of plugin p.
func drainCeilingOf(hc config.Host, p *config.Plugin) time.Duration {
	if p.DrainCeiling != nil {
		return p.DrainCeiling.Duration()
	}
	return hc.DrainCeiling.Duration()
}

// retire drains an old generation (each call until its caller's deadline,
// bounded by drain_timeout for calls without one and by drain_ceiling for
// all), waits while it is kept as fallback, and stops it, unless a
// rollback restored it.
func (s *pluginSlot) retire(old *generation, ret *retirement, l drainLimits) {
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
func (s *pluginSlot) forgetOldLocked(g *generation) {
	for i, d := range s.draining {
		if d == g {
			s.draining = append(s.draining[:i], s.draining[i+1:]...)
			return
		}
	}
}

// dismissFallbackLocked lets the fallback go (its retire stops it once it
// has drained).
func (s *pluginSlot) dismissFallbackLocked() {
	if fb := s.fallback; fb != nil {
		close(fb.ret.dismissed)
		s.fallback, s.fallbackCfg, s.probationEnd = nil, nil, time.Time{}
	}
}

// endProbation ends the serving generation's probation once it is over
// (or at once with now), letting the fallback go.
func (s *pluginSlot) endProbation(now bool) {
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
func (s *pluginSlot) rollBack(g *generation) bool {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
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
	s.h.metrics.swaps.WithLabelValues(s.name, "rolled_back").Inc()
	s.log.Error("new generation died on probation; rolled back to the previous one", "generation", g.num, "lived", lived, "serving", fb.num, "pid", fb.pid())
	s.h.refreshEndpoints(s.name)
	return true
}
