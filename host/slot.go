package host

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/server"
)

// Plugin states shown in status.
const (
	StateStarting   = "starting"
	StateServing    = "serving"
	StateRestarting = "restarting" // crashed; a new process is being started
	StateCrashLoop  = "crash-loop" // crashed repeatedly; restarting with backoff
	StateStopped    = "stopped"
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
	// probation: a new generation must stay up this long after Describe
	// before it gets traffic (catches builds that crash at once).
	probation = 300 * time.Millisecond
)

// errNoGeneration: the plugin has no serving process now.
var errNoGeneration = errors.New("plugin has no running process")

// pluginSlot is one configured plugin: the generation serving it now,
// swaps to a new generation, and restarts after crashes.
type pluginSlot struct {
	name string
	h    *Host
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
	draining  []*generation
	nextNum   int
	stopped   bool

	// swapMu serializes swaps and restarts: never two at once.
	swapMu sync.Mutex
	done   chan struct{}
	wg     sync.WaitGroup
}

func newSlot(h *Host, cfg *config.Plugin) *pluginSlot {
	return &pluginSlot{
		name: cfg.Name, h: h, cfg: cfg, log: h.log.Named("plugin").Named(cfg.Name),
		changed: make(chan struct{}), state: StateStarting, done: make(chan struct{}),
	}
}

// start launches the first generation and the supervisor.
func (s *pluginSlot) start(ctx context.Context) error {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	g, err := s.launch(ctx, s.config())
	if err != nil {
		s.setState(StateStopped, err)
		return err
	}
	s.install(g)
	s.wg.Add(1)
	go s.supervise()
	return nil
}

func (s *pluginSlot) config() *config.Plugin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// launch starts a new generation and keeps it on probation briefly.
func (s *pluginSlot) launch(ctx context.Context, cfg *config.Plugin) (*generation, error) {
	p, err := startPlugin(ctx, cfg, cfg.MaxMessageSize, s.h.hostSvc, s.h.log)
	if err != nil {
		return nil, err
	}
	select {
	case <-time.After(probation):
	case <-ctx.Done():
		p.client.Kill()
		return nil, context.Cause(ctx)
	}
	if p.client.Exited() {
		p.client.Kill()
		return nil, fmt.Errorf("plugin %q exited right after it started", cfg.Name)
	}
	s.mu.Lock()
	s.nextNum++
	num := s.nextNum
	s.mu.Unlock()
	return &generation{num: num, proc: p, started: time.Now()}, nil
}

// install makes g the serving generation and returns the one it replaces.
func (s *pluginSlot) install(g *generation) *generation {
	s.mu.Lock()
	old := s.cur
	s.cur = g
	s.state = StateServing
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.h.metrics.pluginUp.WithLabelValues(s.name).Set(1)
	s.log.Info("serving", "generation", g.num, "pid", g.pid())
	return old
}

func (s *pluginSlot) setState(state string, err error) {
	s.mu.Lock()
	s.state = state
	if err != nil {
		s.lastError = err.Error()
	}
	s.mu.Unlock()
}

// acquire returns the serving generation with a call counted on it,
// waiting up to restartWait while the plugin restarts.
func (s *pluginSlot) acquire(ctx context.Context) (*generation, error) {
	timer := time.NewTimer(restartWait)
	defer timer.Stop()
	for {
		s.mu.RLock()
		g, changed, stopped := s.cur, s.changed, s.stopped
		if g != nil && g.exited() {
			g = nil // dead, not yet replaced by the supervisor: wait for it
		}
		if g != nil {
			g.acquire()
		}
		s.mu.RUnlock()
		if g != nil {
			return g, nil
		}
		if stopped {
			return nil, errNoGeneration
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, errNoGeneration
		case <-ctx.Done():
			return nil, errNoGeneration
		}
	}
}

// describe is the serving generation's description (nil if none).
func (s *pluginSlot) describe() *pluginv1.DescribeResponse {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cur == nil {
		return nil
	}
	return s.cur.proc.desc
}

// SwapResult says what a swap did.
type SwapResult struct {
	Plugin     string `json:"plugin"`
	Generation int    `json:"generation"`
	Replaced   int    `json:"replaced,omitempty"`
}

// swap starts a new generation with cfg beside the serving one, checks it,
// switches routing to it atomically and drains and stops the old one in
// the background. If the new generation fails, the old keeps serving. With
// strict, the new generation must serve every endpoint and method the old
// one did (a binary swap); a changed configuration may change them.
func (s *pluginSlot) swap(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, error) {
	s.swapMu.Lock()
	res, old, err := s.swapLocked(ctx, cfg, strict)
	if err != nil {
		s.swapMu.Unlock()
		s.h.metrics.swaps.WithLabelValues(s.name, "failed").Inc()
		s.log.Error("swap failed; the serving generation stays", "error", err)
		s.mu.Lock()
		s.lastError = "swap: " + err.Error()
		s.mu.Unlock()
		return res, err
	}
	s.h.metrics.swaps.WithLabelValues(s.name, "ok").Inc()
	// The old generation drains before the next swap may begin.
	go func() {
		defer s.swapMu.Unlock()
		if old != nil {
			s.retire(old)
		}
	}()
	return res, nil
}

func (s *pluginSlot) swapLocked(ctx context.Context, cfg *config.Plugin, strict bool) (SwapResult, *generation, error) {
	res := SwapResult{Plugin: s.name}
	s.mu.RLock()
	stopped := s.stopped
	s.mu.RUnlock()
	if stopped {
		return res, nil, errors.New("plugin is stopped")
	}
	g, err := s.launch(ctx, cfg)
	if err != nil {
		return res, nil, err
	}
	if prev := s.describe(); strict && prev != nil {
		if err := covers(g.proc.desc, prev); err != nil {
			g.proc.stop(ctx)
			return res, nil, fmt.Errorf("new generation does not serve what the old one did: %w", err)
		}
	}
	s.mu.Lock()
	s.cfg = cfg
	s.swaps++
	s.mu.Unlock()
	old := s.install(g)
	s.h.refreshEndpoints(s.name)
	res.Generation = g.num
	if old != nil {
		res.Replaced = old.num
		s.mu.Lock()
		s.draining = append(s.draining, old)
		s.mu.Unlock()
	}
	s.log.Info("swapped", "generation", g.num, "replaced", res.Replaced)
	return res, old, nil
}

// retire drains an old generation (bounded by the drain timeout) and stops it.
func (s *pluginSlot) retire(old *generation) {
	ctx, cancel := context.WithTimeout(context.Background(), s.h.drainTimeout())
	left := old.drain(ctx)
	cancel()
	if left > 0 {
		s.log.Warn("drain time is up; stopping the old generation with calls in flight", "generation", old.num, "in_flight", left)
	}
	old.proc.stop(context.Background())
	s.mu.Lock()
	for i, g := range s.draining {
		if g == old {
			s.draining = append(s.draining[:i], s.draining[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	s.log.Debug("old generation stopped", "generation", old.num)
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

// supervise restarts the plugin when its serving process dies.
func (s *pluginSlot) supervise() {
	defer s.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		s.mu.RLock()
		g := s.cur
		s.mu.RUnlock()
		if g == nil || !g.exited() {
			continue
		}
		s.crashed(g)
	}
}

// crashed takes a dead generation out of service and restarts the plugin
// with exponential backoff, entering crash-loop after repeated crashes.
func (s *pluginSlot) crashed(g *generation) {
	s.swapMu.Lock()
	defer s.swapMu.Unlock()
	s.mu.Lock()
	if s.cur != g { // already replaced
		s.mu.Unlock()
		return
	}
	s.cur = nil
	close(s.changed)
	s.changed = make(chan struct{})
	s.state = StateRestarting
	s.lastError = fmt.Sprintf("generation %d (pid %d) exited unexpectedly", g.num, g.pid())
	s.mu.Unlock()
	s.h.metrics.pluginUp.WithLabelValues(s.name).Set(0)
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
		s.h.metrics.restarts.WithLabelValues(s.name).Inc()
		s.mu.Lock()
		s.restarts++
		s.mu.Unlock()
		ng, err := s.launch(context.Background(), s.config())
		if err == nil {
			s.install(ng)
			s.h.refreshEndpoints(s.name)
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

func (s *pluginSlot) recordCrash() {
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

func (s *pluginSlot) recentCrashes() int {
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
	d := restartBackoffMin << min(attempt, 16)
	if d > restartBackoffMax || d <= 0 {
		d = restartBackoffMax
	}
	return d*8/10 + rand.N(d*4/10+1)
}

// stop ends supervision, drains the serving generation within ctx and
// stops every process of the plugin.
func (s *pluginSlot) stop(ctx context.Context) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	g := s.cur
	s.cur = nil
	close(s.changed)
	s.changed = make(chan struct{})
	s.state = StateStopped
	s.mu.Unlock()
	close(s.done)
	s.wg.Wait()
	s.h.metrics.pluginUp.WithLabelValues(s.name).Set(0)
	if g != nil {
		g.drain(ctx)
		g.proc.stop(ctx)
	}
	// Wait for swaps in progress (their old generations drain and stop).
	s.swapMu.Lock()
	s.swapMu.Unlock() //nolint:staticcheck // a barrier
}

// forwarders builds the dispatcher endpoints for this plugin.
func (s *pluginSlot) endpoints(timeout time.Duration) []server.Endpoint {
	desc := s.describe()
	var eps []server.Endpoint
	for _, e := range desc.GetEndpoints() {
		ep := server.Endpoint{
			Namespace: e.GetNamespace(), LegacyNamespaces: e.GetLegacyNamespaces(), Version: e.GetVersion(),
			Methods: make(map[string]server.Handler, len(e.GetMethods())),
		}
		for _, m := range e.GetMethods() {
			ep.Methods[m] = &forwarder{slot: s, namespace: e.GetNamespace(), version: e.GetVersion(), method: m, timeout: timeout}
		}
		eps = append(eps, ep)
	}
	return eps
}
