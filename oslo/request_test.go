package oslo

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestHeartbeatInterval(t *testing.T) {
	tests := []struct {
		timeout  string // raw _timeout; "" for absent
		interval time.Duration
		invalid  bool
	}{
		// Falsy: no watchdog at all, no warning.
		{timeout: "", interval: 0},
		{timeout: "null", interval: 0},
		{timeout: "0", interval: 0},
		{timeout: "0.0", interval: 0},
		{timeout: "-0", interval: 0},
		{timeout: "0e0", interval: 0},
		{timeout: "false", interval: 0},
		{timeout: `""`, interval: 0},
		{timeout: "[]", interval: 0},
		{timeout: "{ }", interval: 0},
		// int(_timeout)/2 seconds (A.10: _timeout 2 -> every second).
		{timeout: "2", interval: time.Second},
		{timeout: "3", interval: 1500 * time.Millisecond},
		{timeout: "2.9", interval: time.Second}, // int() truncates
		{timeout: "4.7", interval: 2 * time.Second},
		{timeout: "60", interval: 30 * time.Second},
		{timeout: " 60 ", interval: 30 * time.Second},
		{timeout: "1.99e1", interval: 9500 * time.Millisecond},
		{timeout: `"4"`, interval: 2 * time.Second}, // int("4")
		{timeout: `" 4 "`, interval: 2 * time.Second},
		{timeout: `"+6"`, interval: 3 * time.Second},
		{timeout: `"\u0036"`, interval: 3 * time.Second}, // "6" spelled with an escape
		{timeout: "1e10", interval: 5e9 * time.Second},
		// Truthy but refused: interval under a second, or int() fails.
		{timeout: "1", invalid: true},
		{timeout: "1.9", invalid: true},
		{timeout: "0.5", invalid: true},
		{timeout: "-4", invalid: true},
		{timeout: "true", invalid: true}, // int(True) == 1
		{timeout: `"x"`, invalid: true},
		{timeout: `"4.0"`, invalid: true}, // int("4.0") raises ValueError
		{timeout: `" "`, invalid: true},
		{timeout: "[1]", invalid: true},      // int([1]) raises TypeError
		{timeout: `{"a": 1}`, invalid: true}, // likewise
		// Too long for Python's Event.wait (OverflowError).
		{timeout: "2e10", invalid: true},
		{timeout: "1e300", invalid: true},
		{timeout: "1e400", invalid: true},
		{timeout: "-1e300", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.timeout, func(t *testing.T) {
			r := &Request{}
			if tt.timeout != "" {
				r.Timeout = json.RawMessage(tt.timeout)
			}
			iv, invalid := r.HeartbeatInterval()
			if iv != tt.interval || invalid != tt.invalid {
				t.Errorf("HeartbeatInterval() = %v, %v; want %v, %v", iv, invalid, tt.interval, tt.invalid)
			}
			if iv < 0 {
				t.Errorf("negative interval %v", iv)
			}
		})
	}
}

func TestEndpointContext(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		want    Context
		wantLen int
	}{
		{
			name: "no context, no _timeout",
			req:  Request{},
			want: Context{"client_timeout": json.RawMessage("null")},
		},
		{
			name: "null _timeout",
			req:  Request{Timeout: json.RawMessage("null")},
			want: Context{"client_timeout": json.RawMessage("null")},
		},
		{
			name: "context and _timeout",
			req: Request{
				Timeout: json.RawMessage("30"),
				Context: Context{"user_id": json.RawMessage(`"u1"`), "roles": json.RawMessage(`["a"]`)},
			},
			want: Context{
				"user_id":        json.RawMessage(`"u1"`),
				"roles":          json.RawMessage(`["a"]`),
				"client_timeout": json.RawMessage("30"),
			},
		},
		{
			// unpack_context sets client_timeout after the context keys.
			name: "_timeout wins over a client_timeout context key",
			req: Request{
				Timeout: json.RawMessage("2"),
				Context: Context{"client_timeout": json.RawMessage(`"mine"`)},
			},
			want: Context{"client_timeout": json.RawMessage("2")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cloneContext(tt.req.Context)
			got := tt.req.EndpointContext()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EndpointContext() (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.req.Context); diff != "" {
				t.Errorf("EndpointContext modified the request's context:\n%s", diff)
			}
		})
	}
}

func cloneContext(c Context) Context {
	if c == nil {
		return nil
	}
	out := make(Context, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

func TestDecodeRequestInner(t *testing.T) {
	tests := []struct {
		name    string
		inner   string
		want    *Request
		wantErr bool
	}{
		{
			name:  "minimal cast",
			inner: `{"method": "m", "args": {}}`,
			want:  &Request{Method: "m", Args: json.RawMessage("{}")},
		},
		{
			// Python servers default a missing args to {} (A.13 A9).
			name:  "no args",
			inner: `{"method": "m", "_msg_id": "id", "_reply_q": "q", "extra": 1}`,
			want:  &Request{Method: "m", Args: json.RawMessage("{}"), MsgID: "id", ReplyQ: "q"},
		},
		{
			name:  "null args",
			inner: `{"method": "m", "args": null}`,
			want:  &Request{Method: "m", Args: json.RawMessage("{}")},
		},
		{
			name:  "args not an object, kept raw",
			inner: `{"method": "m", "args": [1, 2]}`,
			want:  &Request{Method: "m", Args: json.RawMessage("[1, 2]")},
		},
		{
			name:  "no method",
			inner: `{"args": {}}`,
			want:  &Request{Args: json.RawMessage("{}"), MethodMissing: true},
		},
		{
			name:  "null method",
			inner: `{"method": null}`,
			want:  &Request{Args: json.RawMessage("{}"), MethodMissing: true},
		},
		{
			name:  "empty method",
			inner: `{"method": ""}`,
			want:  &Request{Args: json.RawMessage("{}"), MethodMissing: true},
		},
		{
			name:  "method not a string",
			inner: `{"method": 7}`,
			want:  &Request{Args: json.RawMessage("{}"), MethodMissing: true},
		},
		{
			name:  "null namespace and version are absent",
			inner: `{"method": "m", "namespace": null, "version": null, "_unique_id": null}`,
			want:  &Request{Method: "m", Args: json.RawMessage("{}")},
		},
		{
			name:  "reply queue with colons is opaque",
			inner: `{"method": "m", "_msg_id": "id", "_reply_q": "reply_x:y:z", "_timeout": 5}`,
			want: &Request{Method: "m", Args: json.RawMessage("{}"), MsgID: "id", ReplyQ: "reply_x:y:z",
				Timeout: json.RawMessage("5")},
		},
		{
			name:  "context keys",
			inner: `{"method": "m", "_context_a": {"n": [1]}, "_context_": 1, "_contextx": 2, "_context_b": null}`,
			want: &Request{Method: "m", Args: json.RawMessage("{}"), Context: Context{
				"a": json.RawMessage(`{"n": [1]}`), "": json.RawMessage("1"), "b": json.RawMessage("null"),
			}},
		},
		{
			// Python looks keys up exactly.
			name:  "keys are case sensitive",
			inner: `{"METHOD": "m", "Args": 1, "_Context_a": 1}`,
			want:  &Request{Args: json.RawMessage("{}"), MethodMissing: true},
		},
		{name: "namespace a number", inner: `{"method": "m", "namespace": 1}`, wantErr: true},
		{name: "version a number", inner: `{"method": "m", "version": 1.2}`, wantErr: true},
		{name: "msg id an object", inner: `{"method": "m", "_msg_id": {}}`, wantErr: true},
		{name: "reply queue a list", inner: `{"method": "m", "_reply_q": []}`, wantErr: true},
		{name: "unique id a bool", inner: `{"method": "m", "_unique_id": true}`, wantErr: true},
		{name: "null", inner: `null`, wantErr: true},
		{name: "array", inner: `[]`, wantErr: true},
		{name: "string", inner: `"m"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRequestInner([]byte(tt.inner))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("DecodeRequestInner = %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeRequestInner: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeRequestInner (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionOrDefault(t *testing.T) {
	if got := (&Request{}).VersionOrDefault(); got != "1.0" {
		t.Errorf("no version: %q, want 1.0", got)
	}
	if got := (&Request{Version: "2.1"}).VersionOrDefault(); got != "2.1" {
		t.Errorf("version 2.1: %q", got)
	}
}

// TestRequestEncode checks the exact inner text: Python's key order, _timeout
// for calls only, sorted context keys.
func TestRequestEncode(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{
			name: "call",
			req: Request{
				Method: "echo", Args: json.RawMessage(`{"v":1}`), Namespace: "ns", Version: "1.2",
				MsgID: "m1", ReplyQ: "q1", UniqueID: "u1",
				Context: Context{"user_id": json.RawMessage(`"u"`), "is_admin": json.RawMessage("true")},
			},
			want: `{"method":"echo","args":{"v":1},"namespace":"ns","version":"1.2","_msg_id":"m1","_reply_q":"q1","_timeout":null,"_unique_id":"u1","_context_is_admin":true,"_context_user_id":"u"}`,
		},
		{
			name: "call with call-monitor timeout",
			req:  Request{Method: "slow", MsgID: "m", ReplyQ: "q", Timeout: json.RawMessage("2")},
			want: `{"method":"slow","args":{},"_msg_id":"m","_reply_q":"q","_timeout":2}`,
		},
		{
			name: "cast has no _timeout",
			req:  Request{Method: "record", Args: json.RawMessage(`{}`), Timeout: json.RawMessage("2"), UniqueID: "u"},
			want: `{"method":"record","args":{},"_unique_id":"u"}`,
		},
		{
			name: "escaped strings",
			req:  Request{Method: "a\"b", Context: Context{"k\n": json.RawMessage(`"<&>"`)}},
			want: `{"method":"a\"b","args":{},"_context_k\n":"<&>"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.req.AppendInner(nil))
			if got != tt.want {
				t.Errorf("AppendInner\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
			env := tt.req.Encode()
			inner, err := Unwrap(env)
			if err != nil || string(inner) != tt.want {
				t.Errorf("Unwrap(Encode()) = %s, %v; want %s", inner, err, tt.want)
			}
		})
	}
}
