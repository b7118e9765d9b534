// Package tracing is oslohost's OpenTelemetry tracing: the exporter and
// tracer provider set up from the `telemetry` block, the spans of the
// host's steps (receive, dispatch, plugin call, reply publish, outgoing
// calls), and the propagation of traces to and from Python services in
// osprofiler's form (the `trace_info` key of the request context) and as a
// W3C traceparent (plugin protocol, AMQP header).
//
// Tracing is off until [Setup] installs a provider: every hook then returns
// at once after one atomic load, allocating nothing. The Go client package
// traces a call only when its context already carries a span.
//
// Trust: osprofiler signs its HTTP headers (X-Trace-Info with an
// X-Trace-HMAC, checked by signed_unpack against [profiler] hmac_keys), but
// over RPC nova's and neutron-lib's serializers send trace_info unsigned,
// with the hmac_key itself inside, and the receiving service calls
// profiler.init(**trace_info) whatever the key. The host checks what can be
// checked on that path: with keys configured, it continues a trace_info
// only when its hmac_key is one of them (compared in constant time), so a
// caller that does not know a key cannot make the host join or start its
// traces; without keys it trusts every trace_info, as nova does.
//
// Files: tracing.go (setup, the Span value), hooks.go (the spans of the
// host's steps and the propagation both ways), osprofiler.go (trace_info
// and its id mapping).
package tracing
