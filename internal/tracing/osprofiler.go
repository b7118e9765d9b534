package tracing

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/oslohost/oslohost/oslo"
)

// TraceInfoKey is the request-context key osprofiler's RPC serializers
// (nova.rpc.ProfilerRequestContextSerializer, neutron-lib's) write and pop.
const TraceInfoKey = "trace_info"

// TraceInfo is osprofiler's trace_info: what profiler.init(**trace_info)
// continues a trace from.
type TraceInfo struct {
	HMACKey  string `json:"hmac_key"`
	BaseID   string `json:"base_id"`
	ParentID string `json:"parent_id"`
}

// ParseTraceInfo reads the trace_info of an oslo request context; ok is
// false when there is none (absent or null).
func ParseTraceInfo(c oslo.Context) (ti TraceInfo, ok bool, err error) {
	raw, ok := c[TraceInfoKey]
	if !ok || string(raw) == "null" {
		return TraceInfo{}, false, nil
	}
	if err := json.Unmarshal(raw, &ti); err != nil {
		return TraceInfo{}, true, fmt.Errorf("trace_info: %w", err)
	}
	return ti, true, nil
}

// SpanContext maps ti to OpenTelemetry as osprofiler's OTLP driver does:
// trace id = UUID(base_id), span id = the low 64 bits of UUID(parent_id).
// The span context is remote and sampled (osprofiler traces everything it
// is given a trace_info for).
func (ti TraceInfo) SpanContext() (trace.SpanContext, error) {
	base, err := parseUUID(ti.BaseID)
	if err != nil {
		return trace.SpanContext{}, fmt.Errorf("trace_info base_id: %w", err)
	}
	parentID := ti.ParentID
	if parentID == "" {
		parentID = ti.BaseID // profiler.init's default
	}
	parent, err := parseUUID(parentID)
	if err != nil {
		return trace.SpanContext{}, fmt.Errorf("trace_info parent_id: %w", err)
	}
	var sid trace.SpanID
	copy(sid[:], parent[8:])
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID(base), SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	if !sc.IsValid() {
		return trace.SpanContext{}, errors.New("trace_info maps to an invalid span context (zero ids)")
	}
	return sc, nil
}

// TraceInfoOf is the trace_info that makes the next Python service continue
// sc: base_id = the trace id as a UUID; parent_id = a UUID whose low 64
// bits are the span id (its high half repeats the trace id's), so
// osprofiler's id mapping gives back sc's span as the parent.
func TraceInfoOf(sc trace.SpanContext, hmacKey string) TraceInfo {
	tid, sid := sc.TraceID(), sc.SpanID()
	var parent [16]byte
	copy(parent[:8], tid[:8])
	copy(parent[8:], sid[:])
	return TraceInfo{HMACKey: hmacKey, BaseID: formatUUID(tid), ParentID: formatUUID(parent)}
}

// validKey reports whether key is one of keys, in constant time per key
// (osprofiler compares HMACs with secretutils.constant_time_compare).
func validKey(key string, keys []string) bool {
	ok := 0
	for _, k := range keys {
		ok |= subtle.ConstantTimeCompare([]byte(key), []byte(k))
	}
	return ok == 1
}

// parseUUID accepts what Python's uuid.UUID(str) does: 32 hex digits,
// optionally with dashes, braces or a "urn:uuid:" prefix.
func parseUUID(s string) ([16]byte, error) {
	var u [16]byte
	h := strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	if len(h) != 32 {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, fmt.Errorf("%q is not a UUID", s)
	}
	return u, nil
}

// formatUUID formats b as Python's str(uuid.UUID) does.
func formatUUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// KeyOf is the hmac_key of c's trace_info, "" when it has none.
func KeyOf(c oslo.Context) string {
	ti, ok, err := ParseTraceInfo(c)
	if !ok || err != nil {
		return ""
	}
	return ti.HMACKey
}
