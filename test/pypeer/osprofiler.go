package pypeer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"testing"
)

// ProfilerOptions configure StartProfiler. URL defaults to URL(), Exchange
// to "openstack"; Topic (where its traced server listens) is required.
type ProfilerOptions struct {
	URL      string
	Exchange string
	Topic    string
}

// TracePoint is one osprofiler notification payload: a "<name>-start" or
// "<name>-stop" trace point with osprofiler's ids.
type TracePoint struct {
	Name      string         `json:"name"`
	BaseID    string         `json:"base_id"`
	TraceID   string         `json:"trace_id"`
	ParentID  string         `json:"parent_id"`
	Timestamp string         `json:"timestamp"`
	Info      map[string]any `json:"info"`
}

// ProfiledCall is the outcome of [Profiler.Call]: the result or the
// exception, and the client's osprofiler ids.
type ProfiledCall struct {
	Result   json.RawMessage `json:"result"`
	ExcClass string          `json:"exc_class"`
	Msg      string          `json:"msg"`
	BaseID   string          `json:"base_id"`
	TraceID  string          `json:"trace_id"`
}

// Profiler is a running py/osprofiler_peer.py: a nova-style client and
// server with osprofiler initialised, reporting every trace point.
type Profiler struct {
	proc    *proc
	mu      sync.Mutex // one command at a time
	results chan map[string]any

	pmu    sync.Mutex
	points []TracePoint
}

// StartProfiler starts py/osprofiler_peer.py (it needs python3-nova and
// python3-osprofiler) and returns once its server is serving; it is stopped
// in t.Cleanup.
func StartProfiler(t testing.TB, o ProfilerOptions) *Profiler {
	t.Helper()
	requireNova(t)
	if o.URL == "" {
		o.URL = URL()
	}
	if o.Exchange == "" {
		o.Exchange = "openstack"
	}
	requireBroker(t, o.URL)
	p := &Profiler{results: make(chan map[string]any, 1)}
	args := []string{"--url", o.URL, "--exchange", o.Exchange, "--topic", o.Topic}
	p.proc = startProc(t, PeerBookworm, "osprofiler_peer.py", args, true, func(line string, diag io.Writer) {
		var m struct {
			Kind    string     `json:"kind"`
			Payload TracePoint `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			fmt.Fprintf(diag, "pypeer: osprofiler_peer: bad line %q: %v\n", line, err)
			return
		}
		if m.Kind == "span" {
			p.pmu.Lock()
			p.points = append(p.points, m.Payload)
			p.pmu.Unlock()
			return
		}
		var r map[string]any
		_ = json.Unmarshal([]byte(line), &r)
		p.results <- r
	})
	return p
}

// Call makes a profiled call: profiler.init(hmacKey), a "py-client-call"
// trace point around nova.rpc.get_client(Target(topic)).call(ctxt, method,
// **args) with a nova RequestContext.
func (p *Profiler) Call(ctx context.Context, topic, method string, args map[string]any, hmacKey string) (ProfiledCall, error) {
	return p.do(ctx, map[string]any{"op": "call", "topic": topic, "method": method, "args": args,
		"hmac_key": hmacKey, "timeout": 30})
}

// Notify sends a profiled notification: profiler.init(hmacKey), a
// "py-client-notify" trace point around a messagingv2 Notifier's info()
// with nova's serializer (which writes trace_info) to topic. Result is
// empty.
func (p *Profiler) Notify(ctx context.Context, topic, eventType string, payload any, hmacKey string) (ProfiledCall, error) {
	return p.do(ctx, map[string]any{"op": "notify", "topic": topic, "event_type": eventType, "payload": payload,
		"hmac_key": hmacKey})
}

func (p *Profiler) do(ctx context.Context, cmd map[string]any) (ProfiledCall, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.Marshal(cmd)
	if err != nil {
		return ProfiledCall{}, err
	}
	if err := p.proc.writeLine(b); err != nil {
		return ProfiledCall{}, err
	}
	select {
	case r := <-p.results:
		if de, ok := r["driver_error"]; ok {
			return ProfiledCall{}, fmt.Errorf("pypeer: osprofiler_peer: %v", de)
		}
		raw, _ := json.Marshal(r)
		var pc ProfiledCall
		err := json.Unmarshal(raw, &pc)
		return pc, err
	case <-p.proc.exited:
		return ProfiledCall{}, fmt.Errorf("osprofiler_peer: %w\nstderr:\n%s", ErrExited, p.proc.stderr)
	case <-ctx.Done():
		return ProfiledCall{}, ctx.Err()
	}
}

// TracePoints returns the trace points reported so far, in order.
func (p *Profiler) TracePoints() []TracePoint {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	return append([]TracePoint(nil), p.points...)
}

// Stderr is what the peer logged so far.
func (p *Profiler) Stderr() string { return p.proc.stderr.String() }
