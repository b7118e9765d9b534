package supervisor

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"time"
)

// Plugin states shown in status.
const (
	StateStarting   = "starting"
	StateServing    = "serving"
	StateRestarting = "restarting" // crashed; a new process is being started
	StateCrashLoop  = "crash-loop" // crashed repeatedly; restarting with backoff
	StateStopped    = "stopped"
)

// Status is one plugin's state: the serving generation, the old ones still
// draining, probation, a queued swap and the counts of restarts, swaps and
// rollbacks. It holds no secrets (no environment, no config).
type Status struct {
	Name       string
	State      string
	Generation int
	PID        int
	Version    string
	Path       string
	SHA256     string
	InFlight   int
	Restarts   int
	Swaps      int
	LastError  string
	// NextRestart is when a crashed plugin is tried again (zero if not).
	NextRestart time.Time
	// Since is when the serving generation started (zero if none).
	Since     time.Time
	Endpoints []EndpointStatus
	// Draining are the old generations still finishing their calls.
	Draining []GenerationStatus
	// Probation is set while the serving generation is on probation.
	Probation *ProbationStatus
	// SwapQueued is set while a swap waits to start.
	SwapQueued *QueuedSwapStatus
	Rollbacks  int
	// PinnedBinary: restarts run the serving generation's own binary
	// (SHA256), not the file now at Path, which is the build a rollback
	// undid; the next swap ends it.
	PinnedBinary bool
}

// EndpointStatus is an endpoint a plugin serves (Version "1.0" when the
// plugin gave none).
type EndpointStatus struct {
	Namespace string
	Version   string
	Methods   []string
}

// GenerationStatus is an old generation finishing its calls: since when
// it was replaced, and how many calls its drain cut.
type GenerationStatus struct {
	Generation int
	PID        int
	InFlight   int
	Since      time.Time
	Cut        int
}

// ProbationStatus is the serving generation's probation: until when, and
// the previous generation kept alive to roll back to.
type ProbationStatus struct {
	Until       time.Time
	Fallback    int
	FallbackPID int
}

// QueuedSwapStatus is a swap waiting to start.
type QueuedSwapStatus struct {
	Since  time.Time
	Reason string
}

// Status reports the plugin's state now.
func (s *Plugin) Status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := Status{
		Name: s.name, State: s.state, Restarts: s.restarts, Swaps: s.swaps, LastError: s.lastError,
		Path: Command(s.cfg), Rollbacks: s.rollbacks, NextRestart: s.nextTry,
		PinnedBinary: s.pin != nil && s.pinCfg == s.cfg,
	}
	if g := s.cur; g != nil {
		ps.Generation, ps.PID, ps.InFlight = g.num, g.pid(), g.InFlight()
		ps.Version, ps.SHA256, ps.Path = g.proc.desc.GetPluginVersion(), g.proc.sha256, g.proc.path
		ps.Since = g.started
		for _, e := range g.proc.desc.GetEndpoints() {
			ps.Endpoints = append(ps.Endpoints, EndpointStatus{Namespace: e.GetNamespace(), Version: orDefault(e.GetVersion()), Methods: e.GetMethods()})
		}
	}
	for _, g := range s.draining {
		g.mu.Lock()
		gs := GenerationStatus{Generation: g.num, PID: g.pid(), InFlight: len(g.calls), Cut: g.cut, Since: g.retiredAt}
		drained := g.drained
		g.mu.Unlock()
		if !drained {
			ps.Draining = append(ps.Draining, gs)
		}
	}
	if fb := s.fallback; fb != nil {
		ps.Probation = &ProbationStatus{Until: s.probationEnd, Fallback: fb.num, FallbackPID: fb.pid()}
	}
	if q := s.queued; q != nil {
		ps.SwapQueued = &QueuedSwapStatus{Since: q.since, Reason: q.reason}
	}
	return ps
}

// fileSHA256 is the hex sha256 of a file ("" when it cannot be read).
func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
