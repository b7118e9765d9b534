package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/oslohost/oslohost/test/pypeer"
)

// otlpSpan is one span an OTLP exporter sent, flattened.
type otlpSpan struct {
	Service, Name           string
	TraceID, SpanID, Parent string // hex; Parent "" for a root
	Kind                    tracepb.Span_SpanKind
}

// otlpReceiver is an in-process OTLP/gRPC trace receiver.
type otlpReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr string

	mu      sync.Mutex
	spans   []otlpSpan
	changed chan struct{} // closed and replaced on each export
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{addr: ln.Addr().String(), changed: make(chan struct{})}
	s := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(s, r)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return r
}

func (r *otlpReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				r.spans = append(r.spans, otlpSpan{Service: service, Name: sp.GetName(),
					TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
					Parent: hex.EncodeToString(sp.GetParentSpanId()), Kind: sp.GetKind()})
			}
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// trace waits (bounded by ctx) until the spans of traceID include every
// name of want, and returns them by name (each name of want must occur
// once).
func (r *otlpReceiver) trace(t *testing.T, ctx context.Context, traceID string, want ...string) map[string]otlpSpan {
	t.Helper()
	for {
		r.mu.Lock()
		got := map[string]otlpSpan{}
		for _, s := range r.spans {
			if s.TraceID != traceID {
				continue
			}
			if _, dup := got[s.Name]; dup && slices.Contains(want, s.Name) {
				r.mu.Unlock()
				t.Fatalf("span %q twice in trace %s", s.Name, traceID)
			}
			got[s.Name] = s
		}
		changed := r.changed
		r.mu.Unlock()
		missing := []string{}
		for _, n := range want {
			if _, ok := got[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return got
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("trace %s: spans %q never arrived; have %v", traceID, missing, got)
		}
	}
}

// osprofilerTraceID and osprofilerSpanID map osprofiler ids as its OTLP
// driver does: trace id = UUID(base_id), span id = low 64 bits of the UUID.
func osprofilerTraceID(t *testing.T, id string) string {
	t.Helper()
	h := strings.ReplaceAll(id, "-", "")
	if len(h) != 32 {
		t.Fatalf("%q is not a UUID", id)
	}
	return h
}

func osprofilerSpanID(t *testing.T, id string) string { return osprofilerTraceID(t, id)[16:] }

// TestTraceAcrossPythonAndGo: a Python caller with osprofiler initialised
// (nova's own RPC client and ProfilerRequestContextSerializer) calls the
// faulty plugin's traced_relay through the real host, which calls a
// Python server (nova's serializer again) through the host. The host and
// the plugin export to an in-process OTLP receiver, osprofiler reports its
// trace points: together they are one trace, Python client → host →
// plugin → host → Python server, each span parented on the one before. A
// trace_info signed with a key the host does not know is not continued.
func TestTraceAcrossPythonAndGo(t *testing.T) {
	pypeer.Python(t)
	recv := startOTLPReceiver(t)
	prefix := pypeer.UniqueName(t, "trace")
	pyTopic := prefix + "-py"
	prof := pypeer.StartProfiler(t, pypeer.ProfilerOptions{Topic: pyTopic})
	cfg := transportBlock() + adminBlock + fmt.Sprintf(`
telemetry {
  otlp_endpoint        = %q
  insecure             = true
  service_name         = "oslohost-e2e"
  batch_timeout        = "100ms"
  osprofiler_hmac_keys = ["first-key", "SECRET_KEY"]
}
plugin "faulty" {
  command = %q
  env     = { JOURNAL = %q }
}
server "faulty" {
  topic   = "%[4]s-faulty"
  plugins = ["faulty"]
}
listener "journal" {
  topics  = ["%[4]s-ntf"]
  plugins = ["faulty"]
}
`, recv.addr, bin.faulty, filepath.Join(t.TempDir(), "journal"), prefix)
	h := runHost(t, writeConfig(t, cfg))
	ctx := bg(t, 2*time.Minute)

	type relayed struct {
		Result struct {
			Kwargs   map[string]any `json:"kwargs"`
			Profiler *struct {
				BaseID   string `json:"base_id"`
				ParentID string `json:"parent_id"`
				HMACKey  string `json:"hmac_key"`
			} `json:"profiler"`
			TraceInfoLeft bool `json:"trace_info_left_in_ctxt"`
		} `json:"result"`
		TraceID     string `json:"trace_id"`
		CallSpanID  string `json:"call_span_id"`
		RelaySpanID string `json:"relay_span_id"`
	}
	call := func(t *testing.T, key string) (pypeer.ProfiledCall, relayed) {
		t.Helper()
		pc, err := prof.Call(ctx, prefix+"-faulty", "traced_relay",
			map[string]any{"topic": pyTopic, "remote_method": "traced_echo", "args": map[string]any{"x": 1}}, key)
		if err != nil {
			t.Fatal(err)
		}
		if pc.ExcClass != "" {
			t.Fatalf("traced_relay raised %s: %s", pc.ExcClass, pc.Msg)
		}
		var r relayed
		if err := json.Unmarshal(pc.Result, &r); err != nil {
			t.Fatalf("result %s: %v", pc.Result, err)
		}
		if r.Result.Profiler == nil {
			t.Fatalf("the Python server got no trace_info: %s", pc.Result)
		}
		if r.Result.TraceInfoLeft {
			t.Errorf("nova's serializer left trace_info in the context")
		}
		return pc, r
	}
	serverPoint := func(t *testing.T, baseID string) pypeer.TracePoint {
		t.Helper()
		for _, p := range prof.TracePoints() {
			if p.Name == "py-server-handle-start" && p.BaseID == baseID {
				return p
			}
		}
		t.Fatalf("no py-server-handle-start trace point of base_id %s: %+v", baseID, prof.TracePoints())
		return pypeer.TracePoint{}
	}
	const (
		receive  = "oslo.receive traced_relay"
		dispatch = "oslo.dispatch traced_relay"
		invoke   = "plugin.invoke traced_relay"
		handle   = "plugin.handle traced_relay"
		relay    = "faulty.relay"
		sdkCall  = "oslo.call traced_echo" // the plugin's, and then the host's
		hostCall = "host.call traced_echo"
		reply    = "oslo.reply.publish"
	)

	t.Run("one trace", func(t *testing.T) {
		pc, r := call(t, "SECRET_KEY")
		traceID := osprofilerTraceID(t, pc.BaseID)
		clientSpan := osprofilerSpanID(t, pc.TraceID) // py-client-call's span
		if r.TraceID != traceID {
			t.Fatalf("the plugin's span is in trace %s, the Python caller's is %s", r.TraceID, traceID)
		}
		spans := recv.trace(t, ctx, traceID, receive, dispatch, invoke, handle, relay, hostCall, reply)
		// oslo.call traced_echo occurs twice (plugin, host): by service.
		var pluginCall, hostClient otlpSpan
		recv.mu.Lock()
		for _, s := range recv.spans {
			if s.TraceID == traceID && s.Name == sdkCall {
				if s.Service == "oslohost-e2e.faulty" {
					pluginCall = s
				} else if s.Service == "oslohost-e2e" {
					hostClient = s
				}
			}
		}
		recv.mu.Unlock()
		if pluginCall.SpanID == "" || hostClient.SpanID == "" {
			recv.trace(t, ctx, traceID, sdkCall) // report what arrived
			t.Fatalf("missing %q spans: plugin %+v host %+v", sdkCall, pluginCall, hostClient)
		}
		chain := []struct {
			child  otlpSpan
			parent string
			what   string
		}{
			{spans[receive], clientSpan, "host receive under the Python client's span"},
			{spans[dispatch], spans[receive].SpanID, "dispatch under receive"},
			{spans[invoke], spans[dispatch].SpanID, "plugin call under dispatch"},
			{spans[handle], spans[invoke].SpanID, "plugin's handling under the host's plugin call"},
			{spans[relay], spans[handle].SpanID, "the plugin author's span under the SDK's"},
			{pluginCall, spans[relay].SpanID, "the plugin's outgoing call under its span"},
			{spans[hostCall], pluginCall.SpanID, "host service call under the plugin's call"},
			{hostClient, spans[hostCall].SpanID, "host's outgoing oslo call under the host service call"},
			{spans[reply], spans[receive].SpanID, "reply publish under receive"},
		}
		for _, c := range chain {
			if c.child.Parent != c.parent {
				t.Errorf("%s: %q has parent %s, want %s", c.what, c.child.Name, c.child.Parent, c.parent)
			}
		}
		for name, service := range map[string]string{receive: "oslohost-e2e", handle: "oslohost-e2e.faulty", relay: "oslohost-e2e.faulty"} {
			if spans[name].Service != service {
				t.Errorf("%q exported by service %q, want %q", name, spans[name].Service, service)
			}
		}
		if spans[receive].Kind != tracepb.Span_SPAN_KIND_SERVER || hostClient.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("kinds: receive %v, outgoing call %v", spans[receive].Kind, hostClient.Kind)
		}
		if r.CallSpanID != spans[handle].SpanID || r.RelaySpanID != spans[relay].SpanID {
			t.Errorf("trace.SpanFromContext in the plugin: %s, %s; exported %s, %s", r.CallSpanID, r.RelaySpanID,
				spans[handle].SpanID, spans[relay].SpanID)
		}
		// The Python server continued the trace under the host's outgoing call.
		p := serverPoint(t, pc.BaseID)
		if osprofilerSpanID(t, p.ParentID) != hostClient.SpanID {
			t.Errorf("py-server-handle's parent maps to span %s, want the host's call %s", osprofilerSpanID(t, p.ParentID), hostClient.SpanID)
		}
		if r.Result.Profiler.HMACKey != "SECRET_KEY" {
			t.Errorf("the Python server's profiler has hmac_key %q, want the caller's", r.Result.Profiler.HMACKey)
		}
	})

	t.Run("notification", func(t *testing.T) {
		pc, err := prof.Notify(ctx, prefix+"-ntf", "trace.test", map[string]any{"n": 1}, "SECRET_KEY")
		if err != nil || pc.ExcClass != "" {
			t.Fatalf("notify: %v %s %s", err, pc.ExcClass, pc.Msg)
		}
		const received, handled = "oslo.notification trace.test", "plugin.notification trace.test"
		spans := recv.trace(t, ctx, osprofilerTraceID(t, pc.BaseID), received, handled)
		if spans[received].Parent != osprofilerSpanID(t, pc.TraceID) || spans[received].Kind != tracepb.Span_SPAN_KIND_CONSUMER {
			t.Errorf("the host's notification span has parent %s kind %v, want the Python notifier's %s, consumer",
				spans[received].Parent, spans[received].Kind, osprofilerSpanID(t, pc.TraceID))
		}
		if spans[handled].Parent != spans[received].SpanID || spans[handled].Service != "oslohost-e2e.faulty" {
			t.Errorf("the plugin's handling (service %q) has parent %s, want %s", spans[handled].Service, spans[handled].Parent, spans[received].SpanID)
		}
	})

	t.Run("wrong hmac key", func(t *testing.T) {
		pc, r := call(t, "WRONG_KEY")
		pyTrace := osprofilerTraceID(t, pc.BaseID)
		if r.TraceID == pyTrace {
			t.Fatalf("a trace_info with an unknown hmac_key was continued (trace %s)", pyTrace)
		}
		spans := recv.trace(t, ctx, r.TraceID, receive, handle)
		if spans[receive].Parent != "" {
			t.Errorf("the host's receive span has parent %s, want none (a new trace)", spans[receive].Parent)
		}
		if !strings.Contains(h.Log(), "osprofiler trace_info not trusted") {
			t.Errorf("the host logged no rejection:\n%s", hostprocTail(h))
		}
		// Downstream Python continues the host's own trace, signed with
		// the first configured key.
		p := serverPoint(t, r.Result.Profiler.BaseID)
		if osprofilerTraceID(t, p.BaseID) != r.TraceID || r.Result.Profiler.HMACKey != "first-key" {
			t.Errorf("the Python server continued base_id %s with key %q, want the host's trace %s with first-key",
				p.BaseID, r.Result.Profiler.HMACKey, r.TraceID)
		}
	})
}

func hostprocTail(h *hostProc) string {
	lines := strings.Split(h.Log(), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
