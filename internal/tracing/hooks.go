package tracing

import (
	"context"
	"encoding/json"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/oslohost/oslohost/oslo"
)

// Span names of the host's steps.
const (
	SpanDispatch     = "oslo.dispatch"
	SpanReplyPublish = "oslo.reply.publish"
)

// TraceparentHeader is the AMQP header (and plugin protocol field) carrying
// the W3C trace context, for consumers that do not read trace_info.
const TraceparentHeader = "traceparent"

var tc = propagation.TraceContext{}

// ParentFrom returns ctx with the remote parent an incoming oslo request
// context names in its trace_info, verified against the configured hmac
// keys. A trace_info that is malformed or whose hmac_key is not configured
// is logged and ignored: the span then starts a trace of its own.
func ParentFrom(ctx context.Context, c oslo.Context, what string) context.Context {
	st := active.Load()
	if st == nil {
		return ctx
	}
	ti, ok, err := ParseTraceInfo(c)
	if !ok {
		return ctx
	}
	if err == nil && len(st.keys) > 0 && !validKey(ti.HMACKey, st.keys) {
		st.log.Warn("osprofiler trace_info not trusted: its hmac_key is none of telemetry.osprofiler_hmac_keys; not continuing the caller's trace",
			"for", what, "base_id", ti.BaseID)
		return ctx
	}
	var sc trace.SpanContext
	if err == nil {
		sc, err = ti.SpanContext()
	}
	if err != nil {
		st.log.Warn("osprofiler trace_info ignored", "for", what, "error", err)
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// StartReceive starts the span of one received RPC request (kind server),
// parented on the caller's trace_info, or else on its W3C traceparent
// header (a producer that is not oslo's, or a Go client without an hmac
// key).
func StartReceive(ctx context.Context, req *oslo.Request, traceparent string) (context.Context, Span) {
	if active.Load() == nil {
		return ctx, Span{}
	}
	ctx = ParentFrom(ctx, req.Context, req.Method)
	if traceparent != "" && !trace.SpanContextFromContext(ctx).IsValid() {
		if _, ok := req.Context[TraceInfoKey]; !ok { // an untrusted trace_info is not bypassed
			ctx = tc.Extract(ctx, propagation.MapCarrier{TraceparentHeader: traceparent})
		}
	}
	kind := "cast"
	if req.IsCall() {
		kind = "call"
	}
	return start(ctx, "oslo.receive "+req.Method, trace.SpanKindServer,
		attribute.String("rpc.system", "oslo.messaging"), attribute.String("rpc.method", req.Method),
		attribute.String("messaging.system", "rabbitmq"), attribute.String("oslo.kind", kind),
		attribute.String("oslo.namespace", req.Namespace), attribute.String("oslo.version", req.VersionOrDefault()),
		attribute.String("messaging.message.id", req.MsgID))
}

// StartDispatch starts the span of dispatching a request to its handler.
func StartDispatch(ctx context.Context, method string) (context.Context, Span) {
	if active.Load() == nil {
		return ctx, Span{}
	}
	return start(ctx, SpanDispatch+" "+method, trace.SpanKindInternal)
}

// StartNotification starts the span of one received notification (kind
// consumer), parented on its context's trace_info.
func StartNotification(ctx context.Context, c oslo.Context, eventType, publisherID string) (context.Context, Span) {
	if active.Load() == nil {
		return ctx, Span{}
	}
	ctx = ParentFrom(ctx, c, eventType)
	return start(ctx, "oslo.notification "+eventType, trace.SpanKindConsumer,
		attribute.String("messaging.system", "rabbitmq"), attribute.String("oslo.event_type", eventType),
		attribute.String("oslo.publisher_id", publisherID))
}

// StartPluginCall starts the span of handing a call (or notifications) to
// a plugin (kind client); its traceparent goes to the plugin.
func StartPluginCall(ctx context.Context, op, plugin, method string) (context.Context, Span) {
	if active.Load() == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, Span{}
	}
	return start(ctx, "plugin."+op+" "+method, trace.SpanKindClient,
		attribute.String("oslohost.plugin", plugin), attribute.String("rpc.method", method))
}

// StartFromTraceparent starts a span (kind server) parented on a W3C
// traceparent received over the plugin protocol; with tracing off or no
// traceparent it starts nothing.
// The span is named op + " " + name.
func StartFromTraceparent(ctx context.Context, traceparent, op, name string) (context.Context, Span) {
	if active.Load() == nil || traceparent == "" {
		return ctx, Span{}
	}
	ctx = tc.Extract(ctx, propagation.MapCarrier{TraceparentHeader: traceparent})
	return start(ctx, op+" "+name, trace.SpanKindServer)
}

// Traceparent is the W3C traceparent of ctx's span, "" when none.
func Traceparent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	m := propagation.MapCarrier{}
	tc.Inject(ctx, m)
	return m[TraceparentHeader]
}

// StartOutgoing starts the span of an outgoing call, cast or notification
// (kind producer for casts and notifications, client for calls) when ctx
// carries a span: the host's, a plugin's relayed one, or an application's
// own (the Go client package used on its own, with the application's
// global tracer provider).
func StartOutgoing(ctx context.Context, op, name, exchange, topic, server string) (context.Context, Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, Span{}
	}
	routingKey := topic
	if server != "" {
		routingKey += "." + server
	}
	kind := trace.SpanKindProducer
	if op == "call" {
		kind = trace.SpanKindClient
	}
	var tr trace.Tracer
	if st := active.Load(); st != nil {
		tr = st.tracer
	} else {
		tr = otel.Tracer(ScopeName)
	}
	ctx, s := tr.Start(ctx, "oslo."+op+" "+name, trace.WithSpanKind(kind),
		trace.WithAttributes(attribute.String("messaging.system", "rabbitmq"),
			attribute.String("messaging.destination.name", exchange),
			attribute.String("messaging.rabbitmq.destination.routing_key", routingKey)))
	return ctx, Span{s}
}

// Outgoing returns c with the trace_info that makes the next Python service
// continue ctx's span; c itself is not modified. Without a sampled span in
// ctx, or without an hmac key to write, it returns c as is (an existing trace_info
// then travels on unchanged, as before tracing existed).
//
// The hmac_key written is the one of the trace_info c already carries
// (forwarded from the incoming call) when it is trusted, otherwise the first
// configured key, otherwise defaultKey.
func Outgoing(ctx context.Context, c oslo.Context, defaultKey string) oslo.Context {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		// osprofiler has no sampling flag: a trace_info means "trace this".
		return c
	}
	var keys []string
	if st := active.Load(); st != nil {
		keys = st.keys
	}
	key, have := "", false
	if ti, ok, err := ParseTraceInfo(c); ok && err == nil && (len(keys) == 0 || validKey(ti.HMACKey, keys)) {
		key, have = ti.HMACKey, true
	} else if len(keys) > 0 {
		key, have = keys[0], true
	} else if defaultKey != "" {
		key, have = defaultKey, true
	}
	if !have {
		return c
	}
	raw, err := json.Marshal(TraceInfoOf(sc, key))
	if err != nil {
		return c
	}
	out := make(oslo.Context, len(c)+1)
	for k, v := range c {
		out[k] = v
	}
	out[TraceInfoKey] = raw
	return out
}

// Headers returns the AMQP headers carrying ctx's span as a W3C
// traceparent (and tracestate), nil when ctx has none.
func Headers(ctx context.Context) amqp.Table {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	tc.Inject(ctx, m)
	h := amqp.Table{}
	for k, v := range m {
		h[k] = v
	}
	return h
}

// PluginAttr names the plugin a span's work went to.
func PluginAttr(name string) attribute.KeyValue { return attribute.String("oslohost.plugin", name) }
