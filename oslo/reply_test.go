package oslo

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsHeartbeat(t *testing.T) {
	tests := []struct {
		name  string
		reply Reply
		want  bool
	}{
		{"heartbeat", Reply{MsgID: "m"}, true},
		{"null result", Reply{Result: json.RawMessage("null")}, true},
		{"final reply", Reply{Ending: true}, false},
		{"legacy first message with a result", Reply{Result: json.RawMessage(`"x"`)}, false},
		{"falsy result is still a result", Reply{Result: json.RawMessage(`0`)}, false},
		{"failure without ending", Reply{Failure: BuiltinError("ValueError", "x")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.reply.IsHeartbeat(); got != tt.want {
				t.Errorf("IsHeartbeat() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHeartbeat(t *testing.T) {
	hb := Heartbeat("29f521ce5e4b48f2b0add47815ac50f4")
	if !hb.IsHeartbeat() || hb.MsgID != "29f521ce5e4b48f2b0add47815ac50f4" || !isHexID(hb.UniqueID) {
		t.Fatalf("Heartbeat() = %+v", hb)
	}
	body, err := hb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Same structure as the captured heartbeat, the fresh unique id aside.
	golden := structure(t, goldenBody(t, "call_reply_heartbeat")).(map[string]any)
	got := structure(t, body).(map[string]any)
	golden[EnvelopeMessageKey].(map[string]any)["_unique_id"] = hb.UniqueID
	if diff := cmp.Diff(golden, got); diff != "" {
		t.Errorf("heartbeat differs from the capture (-golden +encoded):\n%s", diff)
	}
	if Heartbeat("x").UniqueID == hb.UniqueID {
		t.Error("two heartbeats share a unique id")
	}
}

func TestReplyEncode(t *testing.T) {
	f := &Failure{Class: "RuntimeError", Module: ModuleBuiltins, Message: "minimal"}
	tests := []struct {
		name  string
		reply Reply
		want  string // the inner object
	}{
		{
			name:  "result",
			reply: Reply{Result: json.RawMessage(`{"a":[1]}`), Ending: true, MsgID: "m", UniqueID: "u"},
			want:  `{"result":{"a":[1]},"failure":null,"ending":true,"_msg_id":"m","_unique_id":"u"}`,
		},
		{
			name:  "nil result is null",
			reply: Reply{Ending: true, MsgID: "m"},
			want:  `{"result":null,"failure":null,"ending":true,"_msg_id":"m"}`,
		},
		{
			name:  "failure drops the result",
			reply: Reply{Result: json.RawMessage(`1`), Failure: f, Ending: true, MsgID: "m", UniqueID: "u"},
			want:  `{"result":null,"failure":"{\"class\":\"RuntimeError\",\"module\":\"builtins\",\"message\":\"minimal\",\"tb\":[],\"args\":[],\"kwargs\":{}}","ending":true,"_msg_id":"m","_unique_id":"u"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := tt.reply.Encode()
			if err != nil {
				t.Fatal(err)
			}
			inner, err := Unwrap(body)
			if err != nil {
				t.Fatal(err)
			}
			if string(inner) != tt.want {
				t.Errorf("inner\n got %s\nwant %s", inner, tt.want)
			}
		})
	}
}

func TestReplyEncodeBadFailure(t *testing.T) {
	r := Reply{Failure: &Failure{Class: "X", Args: json.RawMessage("{not json")}, Ending: true}
	if body, err := r.Encode(); err == nil {
		t.Errorf("Encode with invalid failure args = %s, want an error", body)
	}
}

func TestDecodeReply(t *testing.T) {
	env := func(inner string) string { return string(Wrap([]byte(inner))) }
	tests := []struct {
		name    string
		body    string
		want    *Reply
		wantErr bool
	}{
		{
			name: "final",
			body: env(`{"result": "ok", "failure": null, "ending": true, "_msg_id": "m", "_unique_id": "u"}`),
			want: &Reply{Result: json.RawMessage(`"ok"`), Ending: true, MsgID: "m", UniqueID: "u"},
		},
		{
			// A Python caller would leave such a reply waiting (A.13 B7);
			// decoding it says ending false.
			name: "no ending",
			body: env(`{"result": "ok", "failure": null, "_msg_id": "m"}`),
			want: &Reply{Result: json.RawMessage(`"ok"`), MsgID: "m"},
		},
		{
			// Python's caller raises KeyError('failure') (A.13 B6); the Go
			// decoder is lenient: no failure key is no failure.
			name: "no failure key",
			body: env(`{"result": 1, "ending": true, "_msg_id": "m"}`),
			want: &Reply{Result: json.RawMessage(`1`), Ending: true, MsgID: "m"},
		},
		{
			name: "empty failure string is no failure",
			body: env(`{"result": 1, "failure": "", "ending": true}`),
			want: &Reply{Result: json.RawMessage(`1`), Ending: true},
		},
		{
			name: "bare reply, no envelope (A.13 B8)",
			body: `{"result": "ok:bare_reply", "failure": null, "ending": true, "_msg_id": "m"}`,
			want: &Reply{Result: json.RawMessage(`"ok:bare_reply"`), Ending: true, MsgID: "m"},
		},
		{
			name: "list result (A.13 B1b)",
			body: env(`{"result": [1, {"a": null}], "failure": null, "ending": true, "_msg_id": "m"}`),
			want: &Reply{Result: json.RawMessage(`[1, {"a": null}]`), Ending: true, MsgID: "m"},
		},
		{
			name: "minimal failure fields (A.13 B14)",
			body: env(`{"result": null, "failure": "{\"class\": \"RuntimeError\", \"module\": \"builtins\", \"message\": \"minimal\"}", "ending": true, "_msg_id": "m"}`),
			want: &Reply{Failure: &Failure{
				Class: "RuntimeError", Module: "builtins", Message: "minimal",
				Traceback: []string{}, Args: json.RawMessage("[]"), Kwargs: json.RawMessage("{}"),
			}, Ending: true, MsgID: "m"},
		},
		{
			name:    "failure an object (A.13 B15)",
			body:    env(`{"result": null, "failure": {"class": "ValueError", "module": "builtins", "message": "x"}, "ending": true}`),
			wantErr: true,
		},
		{name: "failure a number", body: env(`{"failure": 1, "ending": true}`), wantErr: true},
		{name: "failure not JSON", body: env(`{"failure": "boom", "ending": true}`), wantErr: true},
		{name: "failure without class", body: env(`{"failure": "{\"module\": \"builtins\", \"message\": \"x\"}", "ending": true}`), wantErr: true},
		{name: "failure JSON null", body: env(`{"failure": "null", "ending": true}`), wantErr: true},
		// Python reads ending with truthiness (data.get("ending", False)).
		{name: "ending a non-empty string is true", body: env(`{"failure": null, "ending": "yes"}`), want: &Reply{Ending: true}},
		{name: "ending 0 is false", body: env(`{"failure": null, "ending": 0}`), want: &Reply{}},
		{name: "msg id a number", body: env(`{"failure": null, "ending": true, "_msg_id": 5}`), wantErr: true},
		{name: "inner an array", body: env(`[]`), wantErr: true},
		{name: "inner null", body: env(`null`), wantErr: true},
		{name: "not JSON", body: `nope`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeReply([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("DecodeReply = %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeReply (-want +got):\n%s", diff)
			}
		})
	}
}

// A reply whose failure cannot be parsed still tells whom it is for.
func TestDecodeReplyBadFailureKeepsMsgID(t *testing.T) {
	body := Wrap([]byte(`{"result": null, "failure": "{}", "ending": true, "_msg_id": "m"}`))
	r, err := DecodeReply(body)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if r == nil || r.MsgID != "m" || !r.Ending {
		t.Errorf("reply = %+v, want msg id m, ending", r)
	}
}
