package listener

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Filter screens notifications before they reach the handler, with the
// semantics of oslo's NotificationFilter (notify/filter.py): every
// expression given must match; an expression matches a value only when
// the value is a string and the expression matches at its start (Python's
// re.match: anchored at the start, not at the end); a key named in
// Context, Metadata or Payload that the notification lacks fails. A
// payload that is not a JSON object fails any Payload expression (Python's
// filter raises on a null or string payload, which makes the message count
// as failed, i.e. requeued; here it is simply filtered out). Filtered out
// notifications are acked, as a Python listener does when no endpoint
// wants them.
//
// Expressions are Go RE2 syntax (Python's lookarounds and backreferences
// are not available). The zero Filter matches everything. A Filter is
// read-only after construction and safe for concurrent use.
type Filter struct {
	EventType   *regexp.Regexp
	PublisherID *regexp.Regexp
	// Context keys are matched against the endpoint context (which
	// includes client_timeout, always null).
	Context map[string]*regexp.Regexp
	// Metadata keys are "message_id" and "timestamp".
	Metadata map[string]*regexp.Regexp
	Payload  map[string]*regexp.Regexp
}

// FilterSpec is a Filter as text, the form configuration gives it.
type FilterSpec struct {
	EventType   string
	PublisherID string
	Context     map[string]string
	Metadata    map[string]string
	Payload     map[string]string
}

// Compile compiles every expression of s; "" for EventType or PublisherID
// means no condition.
func (s FilterSpec) Compile() (*Filter, error) {
	f := &Filter{}
	var err error
	if s.EventType != "" {
		if f.EventType, err = regexp.Compile(s.EventType); err != nil {
			return nil, fmt.Errorf("filter event_type: %w", err)
		}
	}
	if s.PublisherID != "" {
		if f.PublisherID, err = regexp.Compile(s.PublisherID); err != nil {
			return nil, fmt.Errorf("filter publisher_id: %w", err)
		}
	}
	if f.Context, err = compileMap("context", s.Context); err != nil {
		return nil, err
	}
	if f.Metadata, err = compileMap("metadata", s.Metadata); err != nil {
		return nil, err
	}
	if f.Payload, err = compileMap("payload", s.Payload); err != nil {
		return nil, err
	}
	return f, nil
}

func compileMap(what string, m map[string]string) (map[string]*regexp.Regexp, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]*regexp.Regexp, len(m))
	for k, expr := range m {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("filter %s %q: %w", what, k, err)
		}
		out[k] = re
	}
	return out, nil
}

// Match reports whether m passes the filter. A nil Filter matches all.
func (f *Filter) Match(m *Message) bool {
	if f == nil {
		return true
	}
	if f.PublisherID != nil && !pyMatch(f.PublisherID, m.PublisherID) {
		return false
	}
	if f.EventType != nil && !pyMatch(f.EventType, m.EventType) {
		return false
	}
	if len(f.Context) > 0 && !matchRaw(f.Context, m.Context) {
		return false
	}
	if len(f.Metadata) > 0 {
		md := map[string]string{"message_id": m.Metadata.MessageID, "timestamp": m.Metadata.Timestamp}
		for k, re := range f.Metadata {
			v, ok := md[k]
			if !ok || !pyMatch(re, v) {
				return false
			}
		}
	}
	if len(f.Payload) > 0 {
		var obj map[string]json.RawMessage
		if json.Unmarshal(m.Payload, &obj) != nil || obj == nil {
			return false
		}
		if !matchRaw(f.Payload, obj) {
			return false
		}
	}
	return true
}

// matchRaw checks every expression against the JSON string under its key.
func matchRaw(exprs map[string]*regexp.Regexp, data map[string]json.RawMessage) bool {
	for k, re := range exprs {
		raw, ok := data[k]
		if !ok {
			return false
		}
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return false // not a string: a mismatch in Python
		}
		if !pyMatch(re, s) {
			return false
		}
	}
	return true
}

// pyMatch is Python's re.match: a match that starts at the beginning of s.
// The leftmost match starts at 0 whenever any match does.
func pyMatch(re *regexp.Regexp, s string) bool {
	loc := re.FindStringIndex(s)
	return loc != nil && loc[0] == 0
}
