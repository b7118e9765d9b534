package oslo

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// goldenNotifications are the fields of the notification captures (spec
// A.11) as DecodeNotification must read them.
var goldenNotifications = map[string]Notification{
	"notification_v2_info": {
		MessageID: "6a5ead33-bdda-48fa-ba29-e2c90a547c3d", PublisherID: "wire.host1",
		EventType: "wire.event.start", Priority: "INFO",
		Payload:   json.RawMessage(`{"k": "v", "when": "2024-05-17T12:30:45.123456"}`),
		Timestamp: "2026-11-24 18:36:59.858398", UniqueID: "4e1464b331f246fea139240967cd117c",
		Context: goldenNotificationContext,
	},
	"notification_v2_error": {
		MessageID: "9a58a0c4-30c4-4565-bdbf-d405050875f7", PublisherID: "wire.host1",
		EventType: "wire.event.fail", Priority: "ERROR",
		Payload:   json.RawMessage(`{"err": "boom"}`),
		Timestamp: "2026-11-24 18:37:00.632468", UniqueID: "54c55708880743a69b81118102ddf27f",
		Context: goldenNotificationContext,
	},
	"notification_v2_warn_empty_ctx": {
		MessageID: "8aae3c53-cd05-436c-a851-d6f67e885830", PublisherID: "other.host2",
		EventType: "wire.event.warn", Priority: "WARN",
		Payload:   json.RawMessage(`"str payload"`),
		Timestamp: "2026-11-24 18:37:01.360789", UniqueID: "154360c3fb7849669ff661121bcfacbe",
	},
	"notification_v1_info": {
		MessageID: "a32334d4-b12c-499c-a7a9-e6b2752d67a2", PublisherID: "wire.host1",
		EventType: "wire.event.v1", Priority: "INFO",
		Payload:   json.RawMessage(`{"k": "v"}`),
		Timestamp: "2026-11-24 18:37:02.114621", UniqueID: "3963b04dc3344ffdac761918bb5dabc6",
		Context: goldenNotificationContext,
	},
}

// goldenNotificationContext is the A.1 context after the notifier's
// whitelist: auth_token is gone.
var goldenNotificationContext = Context{
	"user_id": json.RawMessage(`"u1"`), "project_id": json.RawMessage(`"p1"`),
	"request_id": json.RawMessage(`"req-abc"`), "roles": json.RawMessage(`["admin", "member"]`),
	"is_admin": json.RawMessage(`true`),
}

func TestGoldenNotificationsDecode(t *testing.T) {
	seen := 0
	for _, m := range loadGolden(t) {
		if goldenKind(m.Name) != "notification" {
			continue
		}
		seen++
		want, ok := goldenNotifications[m.Name]
		if !ok {
			t.Errorf("notification capture %q has no expectations", m.Name)
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			got, err := DecodeNotification([]byte(m.Body))
			if err != nil {
				t.Fatalf("DecodeNotification: %v", err)
			}
			if diff := cmp.Diff(&want, got, rawJSONEqual); diff != "" {
				t.Errorf("decoded notification (-want +got):\n%s", diff)
			}
			// The routing key is <topic>.<priority in lower case>.
			p, known := NormalizePriority(got.Priority)
			if !known || m.RoutingKey != "notifications."+p {
				t.Errorf("routing key %q, priority %q (known %v)", m.RoutingKey, p, known)
			}
		})
	}
	if seen != len(goldenNotifications) {
		t.Errorf("%d notification captures, %d expected", seen, len(goldenNotifications))
	}
}

// TestGoldenNotificationsEncode re-encodes the captured fields and gets the
// captured message back (same structure; key order and separators aside).
func TestGoldenNotificationsEncode(t *testing.T) {
	for name, n := range goldenNotifications {
		t.Run(name, func(t *testing.T) {
			golden := goldenBody(t, name)
			var body []byte
			if strings.HasPrefix(name, "notification_v1_") {
				body = n.EncodeV1()
			} else {
				body = n.Encode()
			}
			if diff := cmp.Diff(structure(t, golden), structure(t, body), numbersEqual); diff != "" {
				t.Errorf("encoded notification differs (-golden +ours):\n%s", diff)
			}
		})
	}
}

// TestNotificationKeyOrder checks Python's key order in the inner object.
func TestNotificationKeyOrder(t *testing.T) {
	n := goldenNotifications["notification_v2_info"]
	inner := string(n.EncodeV1())
	keys := []string{`"message_id"`, `"publisher_id"`, `"event_type"`, `"priority"`, `"payload"`,
		`"timestamp"`, `"_unique_id"`, `"_context_is_admin"`, `"_context_project_id"`,
		`"_context_request_id"`, `"_context_roles"`, `"_context_user_id"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(inner, k)
		if i < 0 || i < last {
			t.Fatalf("key %s at %d (previous at %d) in %s", k, i, last, inner)
		}
		last = i
	}
	// And the envelope is the 2.0 one around exactly that inner object.
	got, err := Unwrap(n.Encode())
	if err != nil || string(got) != inner {
		t.Fatalf("Unwrap(Encode()) = %s, %v; want %s", got, err, inner)
	}
}

func TestNotificationEncodeEmpty(t *testing.T) {
	n := &Notification{MessageID: "m", PublisherID: "p", EventType: "e", Priority: "INFO", Timestamp: "t"}
	want := `{"message_id":"m","publisher_id":"p","event_type":"e","priority":"INFO","payload":null,"timestamp":"t"}`
	if got := string(n.EncodeV1()); got != want {
		t.Errorf("EncodeV1 = %s, want %s", got, want)
	}
}

func TestDecodeNotification(t *testing.T) {
	tests := []struct {
		name, body string
		want       *Notification
		wantErr    error
	}{
		{name: "minimal bare", body: `{"priority": "info", "event_type": "e"}`,
			want: &Notification{Priority: "info", EventType: "e"}},
		{name: "nulls read as empty", body: `{"message_id": null, "publisher_id": null, "payload": null, "timestamp": null}`,
			want: &Notification{}},
		{name: "extra keys ignored, context kept", body: `{"x": 1, "_context_a": {"b": [1]}, "payload": [1, 2]}`,
			want: &Notification{Payload: json.RawMessage(`[1, 2]`), Context: Context{"a": json.RawMessage(`{"b": [1]}`)}}},
		{name: "enveloped", body: `{"oslo.version": "2.0", "oslo.message": "{\"priority\": \"WARN\"}"}`,
			want: &Notification{Priority: "WARN"}},
		{name: "priority not a string", body: `{"priority": 3}`, wantErr: ErrMalformed},
		{name: "not an object", body: `[1]`, wantErr: ErrMalformed},
		{name: "null body", body: `null`, wantErr: ErrMalformed},
		{name: "bad json", body: `{"priority":`, wantErr: ErrMalformed},
		{name: "unsupported envelope", body: `{"oslo.version": "3.0", "oslo.message": "{}"}`, wantErr: ErrEnvelopeVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeNotification([]byte(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, rawJSONEqual); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizePriority(t *testing.T) {
	tests := []struct {
		in, want string
		known    bool
	}{
		{"INFO", "info", true}, {"info", "info", true}, {"Warn", "warn", true},
		{"AUDIT", "audit", true}, {"DEBUG", "debug", true}, {"ERROR", "error", true},
		{"CRITICAL", "critical", true}, {"SAMPLE", "sample", true},
		{"WARNING", "warning", false}, {"", "", false}, {"notice", "notice", false},
	}
	for _, tt := range tests {
		got, known := NormalizePriority(tt.in)
		if got != tt.want || known != tt.known {
			t.Errorf("NormalizePriority(%q) = %q, %v; want %q, %v", tt.in, got, known, tt.want, tt.known)
		}
	}
	if got := Priorities(); len(got) != 7 || got[0] != "audit" || got[6] != "sample" {
		t.Errorf("Priorities() = %v", got)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 24, 18, 36, 59, 858398000, time.UTC), "2026-11-24 18:36:59.858398"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02 03:04:05"},           // no .000000
		{time.Date(2026, 1, 2, 3, 4, 5, 999, time.UTC), "2026-01-02 03:04:05"},         // below a microsecond
		{time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC), "2026-01-02 03:04:05.000001"}, // zero-padded
		{time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC), "2026-01-02 03:04:05.123456"},
		{time.Date(2026, 1, 2, 4, 4, 5, 500000000, time.FixedZone("CET", 3600)), "2026-01-02 03:04:05.500000"}, // UTC
	}
	for _, tt := range tests {
		got := Timestamp(tt.t)
		if got != tt.want {
			t.Errorf("Timestamp(%v) = %q, want %q", tt.t, got, tt.want)
		}
		back, err := ParseTimestamp(got)
		if err != nil || !back.Equal(tt.t.Truncate(time.Microsecond)) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", got, back, err, tt.t.Truncate(time.Microsecond))
		}
	}
	// Every captured timestamp has the Python shape and parses.
	shape := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)
	for name, n := range goldenNotifications {
		if !shape.MatchString(n.Timestamp) {
			t.Errorf("%s: timestamp %q", name, n.Timestamp)
		}
		if _, err := ParseTimestamp(n.Timestamp); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{"2026-01-02T03:04:05", "2026-01-02 03:04:05.12", "x"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
}

// TestFilterNotificationContext uses the context of the captured call
// (six keys with auth_token) and gets what the captured notifications carry.
func TestFilterNotificationContext(t *testing.T) {
	req, err := DecodeRequest(goldenBody(t, "call_request"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := req.Context["auth_token"]; !ok {
		t.Fatal("capture lost its auth_token")
	}
	got := FilterNotificationContext(req.Context)
	if diff := cmp.Diff(goldenNotificationContext, got, rawJSONEqual); diff != "" {
		t.Errorf("filtered context (-want +got):\n%s", diff)
	}
	if _, ok := req.Context["auth_token"]; !ok {
		t.Error("FilterNotificationContext modified its argument")
	}
	all := Context{}
	for k := range notificationContextKeys {
		all[k] = json.RawMessage(`1`)
	}
	all["service_token"] = json.RawMessage(`"x"`)
	all["tenant"] = json.RawMessage(`"x"`)
	if got := FilterNotificationContext(all); len(got) != 27 {
		t.Errorf("kept %d keys, want the 27 whitelisted ones", len(got))
	}
	if got := FilterNotificationContext(Context{"auth_token": json.RawMessage(`"s"`)}); got != nil {
		t.Errorf("got %v, want nil", got)
	}
}

func TestNotificationEndpointContext(t *testing.T) {
	n := Notification{Context: Context{"user_id": json.RawMessage(`"u"`)}}
	got := n.EndpointContext()
	want := Context{"user_id": json.RawMessage(`"u"`), "client_timeout": json.RawMessage(`null`)}
	if diff := cmp.Diff(want, got, rawJSONEqual); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := n.Context["client_timeout"]; ok {
		t.Error("EndpointContext modified the notification")
	}
}
