package oslo

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeNotificationMap is DecodeNotification as it was before it moved to
// the scanner (json.Unmarshal into a map): the reference the scanner must
// match on every body both accept.
func decodeNotificationMap(body []byte) (*Notification, error) {
	inner, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(inner, &fields); err != nil {
		return nil, fmt.Errorf("%w: notification: %v", ErrMalformed, err)
	}
	if fields == nil {
		return nil, fmt.Errorf("%w: notification is not an object", ErrMalformed)
	}
	n := &Notification{}
	for k, v := range fields {
		var err error
		switch k {
		case "message_id":
			err = optString(v, &n.MessageID)
		case "publisher_id":
			err = optString(v, &n.PublisherID)
		case "event_type":
			err = optString(v, &n.EventType)
		case "priority":
			err = optString(v, &n.Priority)
		case "timestamp":
			err = optString(v, &n.Timestamp)
		case "_unique_id":
			err = optString(v, &n.UniqueID)
		case "payload":
			if string(v) != "null" {
				n.Payload = v
			}
		default:
			if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
				if n.Context == nil {
					n.Context = make(Context, len(fields))
				}
				n.Context[name] = v
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: notification %s: %v", ErrMalformed, k, err)
		}
	}
	return n, nil
}

var notificationDecodeSeeds = []string{
	`{"message_id": "m", "publisher_id": "p", "event_type": "e", "priority": "INFO", "payload": {"k": [1, 2]}, "timestamp": "t", "_unique_id": "u", "_context_user": "alice", "_context_roles": ["a"]}`,
	`{"oslo.version": "2.0", "oslo.message": "{\"event_type\": \"e\", \"payload\": null, \"_context_x\": 1}"}`,
	`{"priority": "INFO", "priority": "WARN"}`,
	`{"priority": 7, "priority": "INFO"}`,
	`{"payload": 1, "payload": null}`,
	`{"\u0065vent_type": "escaped key", "_context_\u00e9": "\u00e9"}`,
	`{"_context_a": 1, "_context_a": 2, "other": {}}`,
	"{\"event_type\": \"\xff\", \"_context_\xfe\": 1}",
	` { "event_type" : "spaced" , "payload" : [ 1 , 2 ] } `,
	`{"priority": 7}`, `{"message_id": {}}`, `[]`, `null`, `"x"`, `{`, `{"payload": NaN}`,
	`{"oslo.version": "3.0", "oslo.message": "{}"}`,
}

// TestDecodeNotificationMatchesMap: the scanner decodes every body as the
// map decoder did: the same notification, or an error for the same bodies.
func TestDecodeNotificationMatchesMap(t *testing.T) {
	for _, body := range notificationDecodeSeeds {
		compareNotificationDecoders(t, []byte(body))
	}
}

func FuzzDecodeNotificationMatchesMap(f *testing.F) {
	for _, s := range notificationDecodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { compareNotificationDecoders(t, body) })
}

func compareNotificationDecoders(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := DecodeNotification(body)
	want, wantErr := decodeNotificationMap(body)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: scanner error %v, map error %v", body, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("%q: scanner differs from the map decoder (-map +scanner):\n%s", body, diff)
	}
}

// BenchmarkDecodeNotification compares the scanner with the map decoder
// it replaced, on a notification as Nova's notifier sends it.
func BenchmarkDecodeNotification(b *testing.B) {
	n := &Notification{MessageID: NewUUID(), PublisherID: "compute.host1", EventType: "compute.instance.create.end",
		Priority: "INFO", Payload: json.RawMessage(`{"instance_id": "i-1", "state": "active", "flavor": {"vcpus": 2, "ram": 2048}}`),
		Timestamp: "2026-12-03 12:00:00.000001", UniqueID: NewID(),
		Context: Context{"user_id": json.RawMessage(`"u"`), "project_id": json.RawMessage(`"p"`), "request_id": json.RawMessage(`"req-1"`), "roles": json.RawMessage(`["member"]`)}}
	body := n.Encode()
	for _, d := range []struct {
		name string
		fn   func([]byte) (*Notification, error)
	}{{"scanner", DecodeNotification}, {"map", decodeNotificationMap}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
