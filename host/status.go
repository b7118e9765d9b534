package host

import (
	"sort"
	"time"

	"github.com/oslohost/oslohost/host/internal/supervisor"
	"github.com/oslohost/oslohost/transport"
)

// Plugin states shown in status.
const (
	StateStarting   = supervisor.StateStarting
	StateServing    = supervisor.StateServing
	StateRestarting = supervisor.StateRestarting // crashed; a new process is being started
	StateCrashLoop  = supervisor.StateCrashLoop  // crashed repeatedly; restarting with backoff
	StateStopped    = supervisor.StateStopped
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
	ConsumerStatus
}

// ConsumerStatus is the state of a server's or listener's consumer.
type ConsumerStatus struct {
	// State is the consumer's: "starting", "consuming", "reconnecting"
	// (consuming was lost; it is setting up again), "failed" or
	// "stopped"; a server not started yet is "waiting".
	State string `json:"state"`
	// StateSince is when it entered State (for reconnecting: when
	// consuming was lost).
	StateSince *time.Time `json:"state_since,omitempty"`
	// LastError is why the consumer last lost consuming or failed to set
	// up; kept after it consumes again.
	LastError string `json:"last_error,omitempty"`
	// Attempts counts the failed setup attempts since StateSince.
	Attempts int `json:"attempts,omitempty"`
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
	ConsumerStatus
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
	// PinnedBinary: the file at Path is the build a rollback undid; a
	// restart runs the serving generation's own binary (SHA256) until the
	// next swap.
	PinnedBinary bool `json:"pinned_binary,omitempty"`
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
			Executor: e.cfg.Executor, Plugins: e.cfg.Plugins, ConsumerStatus: consumerStatus(e.srv.State()),
		})
	}
	if h.conn == nil && !h.shutdown { // still starting: the servers it will start
		for _, sc := range h.cfg.Servers {
			st.Servers = append(st.Servers, ServerStatus{
				Name: sc.Name, Topic: sc.Topic, Server: sc.Server, Exchange: sc.Exchange,
				Executor: sc.Executor, Plugins: sc.Plugins, ConsumerStatus: ConsumerStatus{State: "waiting"},
			})
		}
	}
	sort.Slice(st.Servers, func(i, j int) bool { return st.Servers[i].Name < st.Servers[j].Name })
	for _, e := range h.lsns {
		st.Listeners = append(st.Listeners, ListenerStatus{Name: e.cfg.Name, Topics: e.cfg.Topics, Pool: e.cfg.Pool, Queues: e.l.Queues(),
			Plugins: e.cfg.Plugins, ConsumerStatus: consumerStatus(e.l.State())})
	}
	sort.Slice(st.Listeners, func(i, j int) bool { return st.Listeners[i].Name < st.Listeners[j].Name })
	for _, p := range h.sup.Plugins() {
		st.Plugins = append(st.Plugins, pluginStatus(p.Status()))
	}
	sort.Slice(st.Plugins, func(i, j int) bool { return st.Plugins[i].Name < st.Plugins[j].Name })
	return st
}

// Ready reports whether the broker is connected, every server and
// listener consumes and every plugin serves.
func (h *Host) Ready() (bool, string) {
	st := h.Status()
	if !st.Broker.Connected {
		return false, "broker not connected"
	}
	notConsuming := func(kind, name string, c ConsumerStatus) (bool, string) {
		why := kind + " " + name + " is " + c.State
		if c.State != transport.ConsumerStarting && c.LastError != "" {
			why += ": " + c.LastError
		}
		return false, why
	}
	for _, s := range st.Servers {
		if s.State != transport.ConsumerConsuming {
			return notConsuming("server", s.Name, s.ConsumerStatus)
		}
	}
	for _, l := range st.Listeners {
		if l.State != transport.ConsumerConsuming {
			return notConsuming("listener", l.Name, l.ConsumerStatus)
		}
	}
	for _, p := range st.Plugins {
		if p.State != StateServing {
			return false, "plugin " + p.Name + " is " + p.State
		}
	}
	return true, "ready"
}

// pluginStatus is the supervisor's status of a plugin as /v1/status
// shows it.
func pluginStatus(s supervisor.Status) PluginStatus {
	ps := PluginStatus{
		Name: s.Name, State: s.State, Generation: s.Generation, PID: s.PID, Version: s.Version, Path: s.Path,
		SHA256: s.SHA256, InFlight: s.InFlight, Restarts: s.Restarts, Swaps: s.Swaps, LastError: s.LastError,
		NextRestart: timeOrNil(s.NextRestart), Since: timeOrNil(s.Since), Rollbacks: s.Rollbacks,
		PinnedBinary: s.PinnedBinary,
	}
	for _, e := range s.Endpoints {
		ps.Endpoints = append(ps.Endpoints, EndpointStatus(e))
	}
	for _, g := range s.Draining {
		ps.Draining = append(ps.Draining, GenerationStatus{Generation: g.Generation, PID: g.PID, InFlight: g.InFlight, Since: timeOrNil(g.Since), Cut: g.Cut})
	}
	if p := s.Probation; p != nil {
		ps.Probation = &ProbationStatus{Until: p.Until, Fallback: p.Fallback, FallbackPID: p.FallbackPID}
	}
	if q := s.SwapQueued; q != nil {
		ps.SwapQueued = &QueuedSwapStatus{Since: q.Since, Reason: q.Reason}
	}
	return ps
}

// timeOrNil is &t, nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// consumerStatus is a consumer's state as status shows it.
func consumerStatus(st transport.ConsumerState) ConsumerStatus {
	cs := ConsumerStatus{State: st.State, StateSince: timeOrNil(st.Since), Attempts: st.Attempts}
	if st.LastError != nil {
		cs.LastError = st.LastError.Error()
	}
	return cs
}
