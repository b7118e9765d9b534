package oslo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// Request is an RPC call or cast (the inner object of a request message).
// A call has MsgID and ReplyQ; a cast has neither.
type Request struct {
	Method string
	// Args is the keyword-argument object; "{}" when the message had none.
	// It is kept raw: it may be any JSON value when the sender misbehaves,
	// and the dispatcher answers that as Python does.
	Args json.RawMessage
	// Namespace and Version are "" when absent (the server then assumes no
	// namespace and version "1.0").
	Namespace string
	Version   string
	MsgID     string
	// ReplyQ is the caller's reply queue name, opaque (it may contain ':').
	ReplyQ string
	// Timeout is the raw _timeout (the caller's call_monitor_timeout):
	// nil when absent, "null" when null.
	Timeout  json.RawMessage
	UniqueID string
	Context  Context
	// MethodMissing is set when the message had no string "method".
	MethodMissing bool
}

// IsCall reports whether the request expects a reply.
func (r *Request) IsCall() bool { return r.MsgID != "" }

// VersionOrDefault is the requested version, "1.0" when none was sent.
func (r *Request) VersionOrDefault() string {
	if r.Version == "" {
		return "1.0"
	}
	return r.Version
}

// HeartbeatInterval is how often a Python server sends call-monitor
// heartbeats for this request (rpc/dispatcher.py _watchdog): int(_timeout)/2
// seconds. It is 0 when no heartbeats are due: no _timeout, a falsy one
// (null, false, 0, "", [] or {}), or one whose interval would be under a
// second or too long to wait for. invalid reports a truthy _timeout that
// Python would warn about (or fail on) and ignore.
func (r *Request) HeartbeatInterval() (interval time.Duration, invalid bool) {
	v := strings.TrimSpace(string(r.Timeout))
	switch v {
	case "", "null", "false", `""`:
		return 0, false
	}
	var secs int64
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case f == 0: // 0, 0.0, -0, 0e0: falsy
			return 0, false
		case math.IsNaN(f) || math.Abs(f) > 1e18:
			return 0, true
		}
		secs = int64(f) // Python int() truncates floats
	} else if len(v) >= 2 && v[0] == '"' {
		var s string
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return 0, true
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return 0, true
		}
		secs = n
	} else if len(v) >= 2 && (v[0] == '[' || v[0] == '{') && strings.TrimSpace(v[1:len(v)-1]) == "" {
		return 0, false // an empty list or dict: falsy
	} else {
		return 0, true
	}
	if secs < 2 {
		return 0, true
	}
	if secs/2 > math.MaxInt64/int64(time.Second) {
		// Python's Event.wait raises OverflowError: no heartbeats.
		return 0, true
	}
	return time.Duration(secs) * (time.Second / 2), false
}

// EndpointContext is the context an endpoint sees: the request's context
// keys plus "client_timeout" (the raw _timeout, null when absent), exactly
// what a Python endpoint receives as ctxt.
func (r *Request) EndpointContext() Context {
	timeout := r.Timeout
	if len(timeout) == 0 {
		timeout = json.RawMessage("null")
	}
	return withClientTimeout(r.Context, timeout, true)
}

// withClientTimeout is a copy of c with "client_timeout" set to timeout:
// always, or (replace false) only when c has none.
func withClientTimeout(c Context, timeout json.RawMessage, replace bool) Context {
	out := make(Context, len(c)+1)
	for k, v := range c {
		out[k] = v
	}
	if _, ok := out["client_timeout"]; replace || !ok {
		out["client_timeout"] = timeout
	}
	return out
}

// DecodeRequest parses a request body (enveloped or not).
func DecodeRequest(body []byte) (*Request, error) {
	inner, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	return DecodeRequestInner(inner)
}

// DecodeRequestInner parses the inner request object.
func DecodeRequestInner(inner []byte) (*Request, error) {
	if !validJSON(inner) {
		var v any
		return nil, fmt.Errorf("%w: %v", ErrMalformed, json.Unmarshal(inner, &v))
	}
	r := &Request{MethodMissing: true}
	err := pyjson.EachMember(inner, func(key []byte, escaped bool, v []byte) error {
		var err error
		k, known := requestKey(key)
		if escaped {
			k = pyjson.MemberKey(key, true)
		}
		switch k {
		case "method":
			r.Method, r.MethodMissing = "", false
			if err = optString(v, &r.Method); err != nil || r.Method == "" {
				r.MethodMissing, err = true, nil
			}
		case "args":
			r.Args = nil
			if string(v) != "null" {
				r.Args = v
			}
		case "namespace":
			err = optString(v, &r.Namespace)
		case "version":
			err = optString(v, &r.Version)
		case "_msg_id":
			err = optString(v, &r.MsgID)
		case "_reply_q":
			err = optString(v, &r.ReplyQ)
		case "_unique_id":
			err = optString(v, &r.UniqueID)
		case "_timeout":
			r.Timeout = v
		default:
			if !escaped && !known {
				k = pyjson.MemberKey(key, false)
			}
			if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
				if r.Context == nil {
					r.Context = make(Context, 8)
				}
				r.Context[name] = v
			}
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, k, err)
		}
		return nil
	})
	if errors.Is(err, pyjson.ErrNotObject) {
		return nil, fmt.Errorf("%w: request is not an object", ErrMalformed)
	}
	if err != nil {
		return nil, err
	}
	if r.Args == nil {
		r.Args = json.RawMessage("{}")
	}
	return r, nil
}

// requestKey returns the request keys the decoder knows as constants, so
// that matching them allocates nothing.
func requestKey(key []byte) (string, bool) {
	switch string(key) {
	case "method":
		return "method", true
	case "args":
		return "args", true
	case "namespace":
		return "namespace", true
	case "version":
		return "version", true
	case "_msg_id":
		return "_msg_id", true
	case "_reply_q":
		return "_reply_q", true
	case "_unique_id":
		return "_unique_id", true
	case "_timeout":
		return "_timeout", true
	}
	return "", false
}

// optString decodes a JSON string or null into s.
func optString(v json.RawMessage, s *string) error {
	if string(v) == "null" {
		return nil
	}
	if len(v) == 0 || v[0] != '"' {
		return fmt.Errorf("want a string, got %s", truncate(v, 32))
	}
	*s = pyjson.Unquote(v)
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Encode returns the request wrapped in the 2.0 envelope, keys in Python's
// order: method, args, namespace, version, _msg_id, _reply_q, _timeout,
// _unique_id, then the _context_* keys (sorted). _timeout is written for
// calls only (null when Timeout is nil), as Python does.
func (r *Request) Encode() []byte {
	inner := r.AppendInner(make([]byte, 0, 256+len(r.Args)))
	return Wrap(inner)
}

// AppendInner appends the inner request object to dst.
func (r *Request) AppendInner(dst []byte) []byte {
	dst = append(dst, `{"method":`...)
	dst = pyjson.AppendString(dst, r.Method)
	dst = append(dst, `,"args":`...)
	if len(r.Args) == 0 {
		dst = append(dst, "{}"...)
	} else {
		dst = append(dst, r.Args...)
	}
	if r.Namespace != "" {
		dst = append(dst, `,"namespace":`...)
		dst = pyjson.AppendString(dst, r.Namespace)
	}
	if r.Version != "" {
		dst = append(dst, `,"version":`...)
		dst = pyjson.AppendString(dst, r.Version)
	}
	if r.MsgID != "" {
		dst = append(dst, `,"_msg_id":`...)
		dst = pyjson.AppendString(dst, r.MsgID)
		dst = append(dst, `,"_reply_q":`...)
		dst = pyjson.AppendString(dst, r.ReplyQ)
		dst = append(dst, `,"_timeout":`...)
		dst = appendRaw(dst, r.Timeout)
	}
	return appendUniqueAndContext(dst, r.UniqueID, r.Context)
}

// appendUniqueAndContext ends a request's or notification's object: its
// _unique_id (when set), its context members under ContextPrefix in sorted
// order, and the closing brace.
func appendUniqueAndContext(dst []byte, uniqueID string, c Context) []byte {
	if uniqueID != "" {
		dst = append(dst, `,"_unique_id":`...)
		dst = pyjson.AppendString(dst, uniqueID)
	}
	for _, k := range c.sortedKeys() {
		dst = append(dst, ',')
		dst = pyjson.AppendString(dst, ContextPrefix+k)
		dst = append(dst, ':')
		dst = appendRaw(dst, c[k])
	}
	return append(dst, '}')
}
