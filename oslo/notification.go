package oslo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// Notification priorities, lower case: the last part of a notification's
// routing key ("notifications.info") and the endpoint method names of a
// Python listener. In the message itself the priority is upper case
// ("INFO"), as the Python Notifier writes it.
const (
	PriorityAudit    = "audit"
	PriorityDebug    = "debug"
	PriorityInfo     = "info"
	PriorityWarn     = "warn"
	PriorityError    = "error"
	PriorityCritical = "critical"
	PrioritySample   = "sample"
)

// Priorities returns every oslo priority in oslo's order
// (notify/dispatcher.py PRIORITIES). The slice is fresh on each call.
func Priorities() []string {
	return []string{PriorityAudit, PriorityDebug, PriorityInfo, PriorityWarn, PriorityError, PriorityCritical, PrioritySample}
}

// NormalizePriority lower-cases p, as a Python listener does with a
// message's priority, and reports whether it is one of the seven oslo
// priorities. "warning" is not one: Python's Notifier.warning sends WARN.
func NormalizePriority(p string) (string, bool) {
	lp := strings.ToLower(p)
	switch lp {
	case PriorityAudit, PriorityDebug, PriorityInfo, PriorityWarn, PriorityError, PriorityCritical, PrioritySample:
		return lp, true
	}
	return lp, false
}

// Notification is the inner object of a notification message
// (notify/notifier.py Notifier._notify plus the driver's _unique_id and
// packed context; wire spec 7.3).
type Notification struct {
	// MessageID is a uuid4 with dashes (NewUUID).
	MessageID   string
	PublisherID string
	EventType   string
	// Priority is upper case in messages Python sends ("INFO").
	Priority string
	// Payload is any JSON value; nil means null.
	Payload json.RawMessage
	// Timestamp is Python's str(utcnow()), see Timestamp.
	Timestamp string
	// UniqueID is the uuid4 hex of duplicate detection (NewID).
	UniqueID string
	// Context is the (already filtered) request context.
	Context Context
}

// Encode returns the notification in the 2.0 envelope, as the messagingv2
// driver sends it: keys in Python's order message_id, publisher_id,
// event_type, priority, payload, timestamp, _unique_id (omitted when
// empty), then the _context_* keys (sorted).
func (n *Notification) Encode() []byte {
	return Wrap(n.AppendInner(make([]byte, 0, 320+len(n.Payload))))
}

// EncodeV1 returns the bare inner object (format 1.0), as the messaging
// (v1) driver sends it.
func (n *Notification) EncodeV1() []byte {
	return n.AppendInner(make([]byte, 0, 320+len(n.Payload)))
}

// AppendInner appends the inner notification object to dst.
func (n *Notification) AppendInner(dst []byte) []byte {
	dst = append(dst, `{"message_id":`...)
	dst = pyjson.AppendString(dst, n.MessageID)
	dst = append(dst, `,"publisher_id":`...)
	dst = pyjson.AppendString(dst, n.PublisherID)
	dst = append(dst, `,"event_type":`...)
	dst = pyjson.AppendString(dst, n.EventType)
	dst = append(dst, `,"priority":`...)
	dst = pyjson.AppendString(dst, n.Priority)
	dst = append(dst, `,"payload":`...)
	dst = appendRaw(dst, n.Payload)
	dst = append(dst, `,"timestamp":`...)
	dst = pyjson.AppendString(dst, n.Timestamp)
	return appendUniqueAndContext(dst, n.UniqueID, n.Context)
}

// EndpointContext is the context a Python notification endpoint receives:
// the message's context keys plus "client_timeout": null (the RPC
// unpacking quirk, wire spec 3.4 and A.11).
func (n *Notification) EndpointContext() Context {
	return withClientTimeout(n.Context, json.RawMessage("null"), false)
}

// DecodeNotification parses a notification body, enveloped (messagingv2)
// or bare (messaging, format 1.0). message_id, publisher_id, event_type,
// priority, timestamp and _unique_id must be strings or null (null and
// absent read as ""); the payload may be any JSON value (absent reads as
// null). Other keys without the _context_ prefix are ignored, as Python
// does. The priority is returned as sent; see NormalizePriority.
func DecodeNotification(body []byte) (*Notification, error) {
	inner, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	return decodeNotificationInner(inner)
}

// Indexes of the string members of a notification, in the order they are
// checked.
const (
	nMessageID = iota
	nPublisherID
	nEventType
	nPriority
	nTimestamp
	nUniqueID
	nStrings
	nPayload = nStrings // not a string: kept raw
)

var notificationStringKeys = [nStrings]string{"message_id", "publisher_id", "event_type", "priority", "timestamp", "_unique_id"}

// decodeNotificationInner parses the inner notification object with the
// scanner requests are decoded with (no map, no reflection). A key given
// twice counts with its last value, as in Python's json.loads, and only
// that value is checked.
func decodeNotificationInner(inner []byte) (*Notification, error) {
	if !validJSON(inner) {
		var v any
		return nil, fmt.Errorf("%w: notification: %v", ErrMalformed, json.Unmarshal(inner, &v))
	}
	var raw [nStrings]json.RawMessage
	n := &Notification{}
	err := pyjson.EachMember(inner, func(key []byte, escaped bool, v []byte) error {
		i := -1
		if !escaped {
			i = notificationField(key)
		}
		k := ""
		if i == -1 {
			k = pyjson.MemberKey(key, escaped)
			i = notificationField([]byte(k))
		}
		switch i {
		case -1:
			if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
				if n.Context == nil {
					n.Context = make(Context, 8)
				}
				n.Context[name] = v
			}
		case nPayload:
			n.Payload = nil
			if string(v) != "null" {
				n.Payload = v
			}
		default:
			raw[i] = v
		}
		return nil
	})
	if errors.Is(err, pyjson.ErrNotObject) {
		return nil, fmt.Errorf("%w: notification is not an object", ErrMalformed)
	}
	if err != nil {
		return nil, err
	}
	dst := [nStrings]*string{&n.MessageID, &n.PublisherID, &n.EventType, &n.Priority, &n.Timestamp, &n.UniqueID}
	for i, v := range raw {
		if v == nil {
			continue
		}
		if err := optString(v, dst[i]); err != nil {
			return nil, fmt.Errorf("%w: notification %s: %v", ErrMalformed, notificationStringKeys[i], err)
		}
	}
	return n, nil
}

// notificationField is the index in raw of a notification member's key,
// nPayload for "payload", or -1 for any other key. Comparing string(key)
// allocates nothing.
func notificationField(key []byte) int {
	for i, k := range notificationStringKeys {
		if string(key) == k {
			return i
		}
	}
	if string(key) == "payload" {
		return nPayload
	}
	return -1
}

// Timestamp formats t as Python's str(datetime.utcnow()) does:
// "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, without the ".ffffff" part when the
// microseconds are 0. Sub-microsecond digits are truncated.
func Timestamp(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02 15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += "." + fmt.Sprintf("%06d", us)
	}
	return s
}

// ParseTimestamp reads a timestamp written by Timestamp (or Python's
// str(datetime)), with or without microseconds, as UTC.
func ParseTimestamp(s string) (time.Time, error) {
	base, frac, hasFrac := strings.Cut(s, ".")
	t, err := time.Parse("2006-01-02 15:04:05", base)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	if hasFrac {
		if len(frac) != 6 {
			return time.Time{}, fmt.Errorf("timestamp %q: want 6 fractional digits", s)
		}
		us, err := strconv.Atoi(frac)
		if err != nil || us < 0 {
			return time.Time{}, fmt.Errorf("timestamp %q: bad microseconds", s)
		}
		t = t.Add(time.Duration(us) * time.Microsecond)
	}
	return t, nil
}

// notificationContextKeys are the context keys oslo.messaging 14.0.3 (Debian,
// with the upstream security fix) keeps in notifications
// (notify/notifier.py _sanitize_context; wire spec 7.4).
var notificationContextKeys = map[string]struct{}{
	"user_id": {}, "project_id": {}, "domain_id": {}, "user_domain_id": {},
	"project_domain_id": {}, "is_admin": {}, "request_id": {}, "roles": {},
	"user_name": {}, "project_name": {}, "domain_name": {}, "user_domain_name": {},
	"project_domain_name": {}, "service_user_id": {}, "service_user_domain_id": {},
	"service_user_domain_name": {}, "service_project_id": {}, "service_project_name": {},
	"service_project_domain_id": {}, "service_project_domain_name": {}, "service_roles": {},
	"global_request_id": {}, "system_scope": {}, "user": {}, "domain": {},
	"user_domain": {}, "project_domain": {},
}

// FilterNotificationContext returns the keys of c that a Python notifier
// keeps (wire spec 7.4): auth_token and every other key outside the
// whitelist are dropped. c is not modified; the result is nil when nothing
// is left.
func FilterNotificationContext(c Context) Context {
	var out Context
	for k, v := range c {
		if _, ok := notificationContextKeys[k]; ok {
			if out == nil {
				out = make(Context, len(c))
			}
			out[k] = v
		}
	}
	return out
}
