package host

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"sort"
	"time"
)

// Status is the host's state as /v1/status reports it. It holds no
// secrets: the transport URL is redacted and plugin environments and
// configs are left out.
type Status struct {
	Broker    BrokerStatus     `json:"broker"`
	Servers   []ServerStatus   `json:"servers"`
	Listeners []ListenerStatus `json:"listeners,omitempty"`
	Plugins   []PluginStatus   `json:"plugins"`
}

// ListenerStatus is one listener block.
type ListenerStatus struct {
	Name    string   `json:"name"`
	Topics  []string `json:"topics"`
	Pool    string   `json:"pool,omitempty"`
	Queues  []string `json:"queues"`
	Plugins []string `json:"plugins"`
}

// BrokerStatus is the broker connection.
type BrokerStatus struct {
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	// Error is why the host is not connected: the last attempt's failure.
	Error string `json:"error,omitempty"`
}

// ServerStatus is one server block.
type ServerStatus struct {
	Name     string   `json:"name"`
	Topic    string   `json:"topic"`
	Server   string   `json:"server"`
	Exchange string   `json:"exchange"`
	Executor string   `json:"executor"`
	Plugins  []string `json:"plugins"`
	// State is "consuming", or "waiting" while the host has not started
	// the server yet (it waits for the broker).
	State string `json:"state"`
}

// PluginStatus is one plugin.
type PluginStatus struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	Generation int    `json:"generation"`
	PID        int    `json:"pid,omitempty"`
	Version    string `json:"version,omitempty"`
	Path       string `json:"path"`
	SHA256     string `json:"sha256,omitempty"`
	InFlight   int    `json:"in_flight"`
	Restarts   int    `json:"restarts"`
	Swaps      int    `json:"swaps"`
	LastError  string `json:"last_error,omitempty"`
	// NextRestart is when a crashed plugin is tried again.
	NextRestart *time.Time       `json:"next_restart,omitempty"`
	Since       *time.Time       `json:"since,omitempty"`
	Endpoints   []EndpointStatus `json:"endpoints,omitempty"`
	// Draining are the old generations still finishing their calls.
	Draining []GenerationStatus `json:"draining,omitempty"`
	// Probation is set while the serving generation is on probation.
	Probation *ProbationStatus `json:"probation,omitempty"`
	// SwapQueued is set while a swap waits to start.
	SwapQueued *QueuedSwapStatus `json:"swap_queued,omitempty"`
	// Rollbacks counts the swaps undone because the new generation died
	// on probation.
	Rollbacks int `json:"rollbacks"`
}

// ProbationStatus is the serving generation's probation: until when, and
// the previous generation kept alive to roll back to.
type ProbationStatus struct {
	Until       time.Time `json:"until"`
	Fallback    int       `json:"fallback_generation"`
	FallbackPID int       `json:"fallback_pid,omitempty"`
}

// QueuedSwapStatus is a swap waiting to start.
type QueuedSwapStatus struct {
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
}

// EndpointStatus is an endpoint a plugin serves.
type EndpointStatus struct {
	Namespace string   `json:"namespace"`
	Version   string   `json:"version"`
	Methods   []string `json:"methods"`
}

// GenerationStatus is an old generation finishing its calls.
type GenerationStatus struct {
	Generation int `json:"generation"`
	PID        int `json:"pid,omitempty"`
	InFlight   int `json:"in_flight"`
	// Since is when it was replaced; Cut counts the calls its drain cut
	// (they outlived drain_timeout without a deadline, or drain_ceiling).
	Since *time.Time `json:"since,omitempty"`
	Cut   int        `json:"cut,omitempty"`
}

// Status reports the host's state now.
func (h *Host) Status() Status {
	h.mu.RLock()
	defer h.mu.RUnlock()
	st := Status{Broker: BrokerStatus{URL: h.url.Redacted(), Connected: h.conn != nil && h.conn.Connected()}}
	if !st.Broker.Connected && h.brokerErr != nil {
		st.Broker.Error = h.brokerErr.Error()
	}
	for _, e := range h.servers {
		st.Servers = append(st.Servers, ServerStatus{
			Name: e.cfg.Name, Topic: e.cfg.Topic, Server: e.srv.Target().Server, Exchange: e.cfg.Exchange,
			Executor: e.cfg.Executor, Plugins: e.cfg.Plugins, State: "consuming",
		})
	}
	if h.conn == nil && !h.shutdown { // still starting: the servers it will start
		for _, sc := range h.cfg.Servers {
			st.Servers = append(st.Servers, ServerStatus{
				Name: sc.Name, Topic: sc.Topic, Server: sc.Server, Exchange: sc.Exchange,
				Executor: sc.Executor, Plugins: sc.Plugins, State: "waiting",
			})
		}
	}
	sort.Slice(st.Servers, func(i, j int) bool { return st.Servers[i].Name < st.Servers[j].Name })
	for _, e := range h.lsns {
		st.Listeners = append(st.Listeners, ListenerStatus{Name: e.cfg.Name, Topics: e.cfg.Topics, Pool: e.cfg.Pool, Queues: e.l.Queues(), Plugins: e.cfg.Plugins})
	}
	sort.Slice(st.Listeners, func(i, j int) bool { return st.Listeners[i].Name < st.Listeners[j].Name })
	for _, s := range h.slots {
		st.Plugins = append(st.Plugins, s.status())
	}
	sort.Slice(st.Plugins, func(i, j int) bool { return st.Plugins[i].Name < st.Plugins[j].Name })
	return st
}

// Ready reports whether the broker is connected and every plugin serves.
func (h *Host) Ready() (bool, string) {
	st := h.Status()
	if !st.Broker.Connected {
		return false, "broker not connected"
	}
	for _, p := range st.Plugins {
		if p.State != StateServing {
			return false, "plugin " + p.Name + " is " + p.State
		}
	}
	return true, "ready"
}

func (s *pluginSlot) status() PluginStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ps := PluginStatus{
		Name: s.name, State: s.state, Restarts: s.restarts, Swaps: s.swaps, LastError: s.lastError,
		Path: resolvedCommand(s.cfg), Rollbacks: s.rollbacks,
	}
	if !s.nextTry.IsZero() {
		t := s.nextTry
		ps.NextRestart = &t
	}
	if g := s.cur; g != nil {
		ps.Generation, ps.PID, ps.InFlight = g.num, g.pid(), g.InFlight()
		ps.Version, ps.SHA256, ps.Path = g.proc.desc.GetPluginVersion(), g.proc.sha256, g.proc.path
		t := g.started
		ps.Since = &t
		for _, e := range g.proc.desc.GetEndpoints() {
			ps.Endpoints = append(ps.Endpoints, EndpointStatus{Namespace: e.GetNamespace(), Version: orDefault(e.GetVersion()), Methods: e.GetMethods()})
		}
	}
	for _, g := range s.draining {
		g.mu.Lock()
		gs := GenerationStatus{Generation: g.num, PID: g.pid(), InFlight: len(g.calls), Cut: g.cut}
		if !g.retiredAt.IsZero() {
			t := g.retiredAt
			gs.Since = &t
		}
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
