package oslo

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The context of every capture that had one (spec A.1).
var goldenContext = map[string]string{
	"user_id":    `"u1"`,
	"project_id": `"p1"`,
	"request_id": `"req-abc"`,
	"roles":      `["admin", "member"]`,
	"is_admin":   `true`,
	"auth_token": `"SECRET-TOKEN"`,
}

const goldenReplyQ = "reply_5da6b3ad22a54f39b1615a8805567765"

type wantRequest struct {
	method    string
	args      string // JSON
	namespace string
	version   string
	msgID     string
	replyQ    string
	timeout   string // raw JSON; "" when the key is absent
	uniqueID  string
	context   map[string]string // key -> JSON
	heartbeat time.Duration
}

// What each captured request says, written out from the spec's appendix A.
var goldenRequests = map[string]wantRequest{
	"call_request": {
		method:   "echo",
		args:     `{"value": "héllo", "number": 7, "when": "2024-05-17T12:30:45.123456", "nested": {"a": [1, 2.5, null, true]}}`,
		msgID:    "2a7b6186deb141c38183ff85fa4fa5cc",
		replyQ:   goldenReplyQ,
		timeout:  "null",
		uniqueID: "1e2a12060818433f8474fed69b46ff3b",
		context:  goldenContext,
	},
	"call_request_timeout_5": {
		method:   "echo",
		args:     `{"value": 1}`,
		msgID:    "46cec29df68045b299631247d847a8c5",
		replyQ:   goldenReplyQ,
		timeout:  "null",
		uniqueID: "4731062ae2884ba3b7e060fd8560bf74",
	},
	"cast_request": {
		method:   "record",
		args:     `{"value": "cast-1"}`,
		uniqueID: "4d25e640a5034916913d66b3f0d2bc78",
		context:  goldenContext,
	},
	"fanout_cast_request": {
		method:   "record",
		args:     `{"value": "fanout-1"}`,
		uniqueID: "8e7c4004e3a44ba894dbcabc3a63f779",
		context:  goldenContext,
	},
	"server_call_request": {
		method:   "echo",
		args:     `{"value": "direct"}`,
		msgID:    "3f3c110bedf8496f995c0e1bb6d42dd2",
		replyQ:   goldenReplyQ,
		timeout:  "null",
		uniqueID: "858f6f9d14cd4417afa4dceac7e27ae4",
		context:  goldenContext,
	},
	"call_request_namespace_version": {
		method:    "vmeth",
		args:      `{}`,
		namespace: "ns1",
		version:   "1.2",
		msgID:     "79c2ceb1a8364d2b86c0f5c6741acf24",
		replyQ:    goldenReplyQ,
		timeout:   "null",
		uniqueID:  "fca5696dd05548678849f79d3f7ef800",
	},
	"ping_request": {
		method:   "oslo_rpc_server_ping",
		args:     `{}`,
		msgID:    "1a721478777c4122bc34295f614e46a6",
		replyQ:   goldenReplyQ,
		timeout:  "null",
		uniqueID: "62ab011ddc2c422d893d725374dcbd3d",
	},
	"call_request_call_monitor": {
		method:    "slow",
		args:      `{"seconds": 5}`,
		msgID:     "29f521ce5e4b48f2b0add47815ac50f4",
		replyQ:    goldenReplyQ,
		timeout:   "2",
		uniqueID:  "898508fa2332465dbca755afd1f8f160",
		heartbeat: time.Second,
	},
}

type wantFailure struct {
	class, module, message string
	args, kwargs           string // JSON
	tbLen                  int
	lastTB                 string
}

type wantReply struct {
	result    string // JSON; "" for none (null)
	failure   *wantFailure
	ending    bool
	msgID     string
	uniqueID  string
	heartbeat bool
}

func dispatcherFailure(class, message string) *wantFailure {
	return &wantFailure{
		class: class, module: ModuleDispatcher, message: message,
		args: `["` + message + `"]`, kwargs: `{}`, tbLen: 4,
		lastTB: "oslo_messaging.rpc.dispatcher." + class + ": " + message + "\n",
	}
}

// What each captured reply says, written out from the spec's appendix A.
var goldenReplies = map[string]wantReply{
	"call_reply_success": {
		result: `{"value": "héllo", "kwargs": {"number": 7, "when": "2024-05-17T12:30:45.123456", "nested": {"a": [1, 2.5, null, true]}},
			"ctxt_seen": {"user_id": "u1", "project_id": "p1", "request_id": "req-abc", "roles": ["admin", "member"], "is_admin": true, "auth_token": "SECRET-TOKEN", "client_timeout": null}}`,
		ending:   true,
		msgID:    "2a7b6186deb141c38183ff85fa4fa5cc",
		uniqueID: "b6b4d06322f3426a81fc37df09bcdc2f",
	},
	"call_reply_success_empty_ctx": {
		result:   `{"value": 1, "kwargs": {}, "ctxt_seen": {"client_timeout": null}}`,
		ending:   true,
		msgID:    "46cec29df68045b299631247d847a8c5",
		uniqueID: "f8a308684a0744219c93f60c799b3da4",
	},
	"call_reply_none": {
		ending:   true,
		msgID:    "1aeee5d4b3254c0785ce34a2cc032b9d",
		uniqueID: "2d3ee9de269c4574bd374289ac5b09c5",
	},
	"call_reply_failure_valueerror": {
		failure: &wantFailure{
			class: "ValueError", module: ModuleBuiltins, message: "bad value: v1",
			args: `["bad value: v1"]`, kwargs: `{}`, tbLen: 6, lastTB: "ValueError: bad value: v1\n",
		},
		ending:   true,
		msgID:    "27fb4fb13c3742818d1835f2352ac138",
		uniqueID: "71d4e156405348c8ae7b0f51e82751b4",
	},
	"call_reply_failure_keyerror": {
		failure: &wantFailure{
			class: "KeyError", module: ModuleBuiltins, message: "'missing'",
			args: `["missing"]`, kwargs: `{}`, tbLen: 6, lastTB: "KeyError: 'missing'\n",
		},
		ending:   true,
		msgID:    "9053fe2fcacb49b3969bfa036abf4747",
		uniqueID: "cfa5b20f85ee4ddb8eb2e68fe5417395",
	},
	"call_reply_failure_custom_kwargs": {
		failure: &wantFailure{
			class: "WireError", module: "wire_exc", message: "custom failure",
			args: `["custom failure"]`, kwargs: `{"code": 42, "detail": "xyz"}`, tbLen: 6,
			lastTB: "wire_exc.WireError: custom failure\n",
		},
		ending:   true,
		msgID:    "8dee95c127394becb010608a922622f7",
		uniqueID: "d7ba588917ae4d57a74cf06ce910ff89",
	},
	"call_reply_failure_expected": {
		failure: &wantFailure{
			class: "ValueError", module: ModuleBuiltins, message: "this one is expected",
			args: `["this one is expected"]`, kwargs: `{}`, tbLen: 4, lastTB: "ValueError: this one is expected\n",
		},
		ending:   true,
		msgID:    "e540e19d409e421198877d32194ee7ec",
		uniqueID: "f85fc19ccd874a72a48af37e9f05f3ce",
	},
	"call_reply_failure_nosuchmethod": {
		failure:  dispatcherFailure("NoSuchMethod", "Endpoint does not support RPC method does_not_exist"),
		ending:   true,
		msgID:    "4ccc9482a9f64883a48114ddff109f95",
		uniqueID: "44e6801b1f8249ce8c1681c6bc38c34e",
	},
	"call_reply_failure_unsupportedversion": {
		failure:  dispatcherFailure("UnsupportedVersion", "Endpoint does not support RPC version 1.4. Attempted method: vmeth"),
		ending:   true,
		msgID:    "4b32dd79a949453797b19289c8e0525f",
		uniqueID: "5f621d342f7648a08735f3eeb61a32cf",
	},
	"ping_reply": {
		result:   `"pong"`,
		ending:   true,
		msgID:    "1a721478777c4122bc34295f614e46a6",
		uniqueID: "5883e2679e3647338a989200e31ad03d",
	},
	"call_reply_heartbeat": {
		msgID:     "29f521ce5e4b48f2b0add47815ac50f4",
		uniqueID:  "5385f23eed974c5db0f28c96a6b919ce",
		heartbeat: true,
	},
	"call_reply_after_heartbeats": {
		result:   `"slept 5"`,
		ending:   true,
		msgID:    "29f521ce5e4b48f2b0add47815ac50f4",
		uniqueID: "05bee66e52794873bee02a7ffdd6a37d",
	},
}

// TestGoldenCoverage makes sure every capture is checked by some test, so a
// capture added to testdata/golden.json without expectations fails loudly.
func TestGoldenCoverage(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range loadGolden(t) {
		if seen[m.Name] {
			t.Errorf("duplicate capture name %q", m.Name)
		}
		seen[m.Name] = true
		switch goldenKind(m.Name) {
		case "request":
			if _, ok := goldenRequests[m.Name]; !ok {
				t.Errorf("request capture %q has no expectations", m.Name)
			}
		case "reply":
			if _, ok := goldenReplies[m.Name]; !ok {
				t.Errorf("reply capture %q has no expectations", m.Name)
			}
		case "notification":
		default:
			t.Errorf("capture %q is of no known kind", m.Name)
		}
	}
	for name := range goldenRequests {
		if !seen[name] {
			t.Errorf("expected request capture %q is missing", name)
		}
	}
	for name := range goldenReplies {
		if !seen[name] {
			t.Errorf("expected reply capture %q is missing", name)
		}
	}
}

func checkRequest(t *testing.T, r *Request, want wantRequest) {
	t.Helper()
	if r.Method != want.method || r.MethodMissing {
		t.Errorf("method = %q (missing %v), want %q", r.Method, r.MethodMissing, want.method)
	}
	assertJSONEqual(t, "args", r.Args, []byte(want.args))
	if r.Namespace != want.namespace {
		t.Errorf("namespace = %q, want %q", r.Namespace, want.namespace)
	}
	if r.Version != want.version {
		t.Errorf("version = %q, want %q", r.Version, want.version)
	}
	if r.MsgID != want.msgID || r.ReplyQ != want.replyQ || r.UniqueID != want.uniqueID {
		t.Errorf("ids = (%q, %q, %q), want (%q, %q, %q)",
			r.MsgID, r.ReplyQ, r.UniqueID, want.msgID, want.replyQ, want.uniqueID)
	}
	if r.IsCall() != (want.msgID != "") {
		t.Errorf("IsCall() = %v, want %v", r.IsCall(), want.msgID != "")
	}
	if string(r.Timeout) != want.timeout {
		t.Errorf("_timeout = %q, want %q", r.Timeout, want.timeout)
	}
	if got := len(r.Context); got != len(want.context) {
		t.Errorf("context has %d keys (%v), want %d", got, r.Context.sortedKeys(), len(want.context))
	}
	for k, v := range want.context {
		got, ok := r.Context[k]
		if !ok {
			t.Errorf("context key %q missing", k)
			continue
		}
		assertJSONEqual(t, "context "+k, got, []byte(v))
	}
}

func TestGoldenRequests(t *testing.T) {
	for _, m := range loadGolden(t) {
		want, ok := goldenRequests[m.Name]
		if !ok {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			r, err := DecodeRequest([]byte(m.Body))
			if err != nil {
				t.Fatalf("DecodeRequest: %v", err)
			}
			checkRequest(t, r, want)

			// Calls, and only calls, carry an expiration (spec 3.1).
			if _, hasExp := m.Properties["expiration"]; hasExp != r.IsCall() {
				t.Errorf("expiration property present = %v, but IsCall() = %v", hasExp, r.IsCall())
			}
			if iv, invalid := r.HeartbeatInterval(); iv != want.heartbeat || invalid {
				t.Errorf("HeartbeatInterval() = %v, %v; want %v, false", iv, invalid, want.heartbeat)
			}

			// The endpoint sees the context plus client_timeout (A.2 ctxt_seen).
			ec := r.EndpointContext()
			if got, wantTO := string(ec["client_timeout"]), cmpOr(want.timeout, "null"); got != wantTO {
				t.Errorf("EndpointContext client_timeout = %s, want %s", got, wantTO)
			}
			if len(ec) != len(want.context)+1 {
				t.Errorf("EndpointContext has %d keys, want %d", len(ec), len(want.context)+1)
			}

			// Encode, decode again: the same request.
			enc := r.Encode()
			r2, err := DecodeRequest(enc)
			if err != nil {
				t.Fatalf("DecodeRequest(Encode()): %v\nbody: %s", err, enc)
			}
			if diff := cmp.Diff(r, r2); diff != "" {
				t.Errorf("round trip changed the request (-decoded +re-decoded):\n%s", diff)
			}

			// And the re-encoded message is the captured one, up to
			// formatting (separators, escapes).
			if diff := cmp.Diff(structure(t, []byte(m.Body)), structure(t, enc)); diff != "" {
				t.Errorf("Encode() differs from the capture (-golden +encoded):\n%s", diff)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func checkFailure(t *testing.T, f *Failure, want *wantFailure) {
	t.Helper()
	if f == nil {
		t.Fatal("no failure")
	}
	if f.Class != want.class || f.Module != want.module || f.Message != want.message {
		t.Errorf("failure = %s / %s / %q, want %s / %s / %q",
			f.Module, f.Class, f.Message, want.module, want.class, want.message)
	}
	assertJSONEqual(t, "failure args", f.Args, []byte(want.args))
	assertJSONEqual(t, "failure kwargs", f.Kwargs, []byte(want.kwargs))
	if len(f.Traceback) != want.tbLen {
		t.Fatalf("traceback has %d lines, want %d: %q", len(f.Traceback), want.tbLen, f.Traceback)
	}
	if f.Traceback[0] != "Traceback (most recent call last):\n" {
		t.Errorf("traceback starts with %q", f.Traceback[0])
	}
	last := f.Traceback[len(f.Traceback)-1]
	if last != want.lastTB {
		t.Errorf("traceback ends with %q, want %q", last, want.lastTB)
	}
	// Python's last traceback line is what QualifiedClass and Error build.
	if got := f.Error() + "\n"; got != last {
		t.Errorf("Error() = %q, traceback's last line is %q", got, last)
	}
	for i, line := range f.Traceback {
		if !strings.HasSuffix(line, "\n") {
			t.Errorf("traceback line %d does not end in a newline: %q", i, line)
		}
	}
}

func TestGoldenReplies(t *testing.T) {
	for _, m := range loadGolden(t) {
		want, ok := goldenReplies[m.Name]
		if !ok {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			r, err := DecodeReply([]byte(m.Body))
			if err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			if want.result == "" {
				if r.Result != nil {
					t.Errorf("result = %s, want none", r.Result)
				}
			} else {
				assertJSONEqual(t, "result", r.Result, []byte(want.result))
			}
			if r.Ending != want.ending || r.MsgID != want.msgID || r.UniqueID != want.uniqueID {
				t.Errorf("ending, msg id, unique id = %v, %q, %q; want %v, %q, %q",
					r.Ending, r.MsgID, r.UniqueID, want.ending, want.msgID, want.uniqueID)
			}
			if r.IsHeartbeat() != want.heartbeat {
				t.Errorf("IsHeartbeat() = %v, want %v", r.IsHeartbeat(), want.heartbeat)
			}
			if want.failure == nil {
				if r.Failure != nil {
					t.Errorf("failure = %+v, want none", r.Failure)
				}
			} else {
				checkFailure(t, r.Failure, want.failure)
			}

			// Encoding a reply built from the decoded one gives the
			// captured structure back.
			enc, err := r.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if diff := cmp.Diff(structure(t, []byte(m.Body)), structure(t, enc)); diff != "" {
				t.Errorf("Encode() differs from the capture (-golden +encoded):\n%s", diff)
			}
			r2, err := DecodeReply(enc)
			if err != nil {
				t.Fatalf("DecodeReply(Encode()): %v\nbody: %s", err, enc)
			}
			if diff := cmp.Diff(r, r2, rawJSONEqual); diff != "" {
				t.Errorf("round trip changed the reply (-decoded +re-decoded):\n%s", diff)
			}
		})
	}
}

// TestGoldenFailures parses each captured failure string on its own with
// UnmarshalFailure and checks MarshalFailure gives the same structure back.
func TestGoldenFailures(t *testing.T) {
	for _, m := range loadGolden(t) {
		want, ok := goldenReplies[m.Name]
		if !ok || want.failure == nil {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			inner, err := Unwrap([]byte(m.Body))
			if err != nil {
				t.Fatal(err)
			}
			var fields struct {
				Failure string `json:"failure"`
			}
			if err := json.Unmarshal(inner, &fields); err != nil {
				t.Fatal(err)
			}
			f, err := UnmarshalFailure([]byte(fields.Failure))
			if err != nil {
				t.Fatalf("UnmarshalFailure: %v", err)
			}
			checkFailure(t, f, want.failure)
			out, err := MarshalFailure(f)
			if err != nil {
				t.Fatalf("MarshalFailure: %v", err)
			}
			assertJSONEqual(t, "marshalled failure", out, []byte(fields.Failure))
		})
	}
}

// TestGoldenDispatcherFailures checks NoSuchMethod and UnsupportedVersion
// build what Python's dispatcher sent, traceback aside.
func TestGoldenDispatcherFailures(t *testing.T) {
	tests := []struct {
		capture string
		got     *Failure
	}{
		{"call_reply_failure_nosuchmethod", NoSuchMethod("does_not_exist")},
		{"call_reply_failure_unsupportedversion", UnsupportedVersion("1.4", "vmeth")},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			r, err := DecodeReply(goldenBody(t, tt.capture))
			if err != nil {
				t.Fatal(err)
			}
			want := r.Failure
			if tt.got.Class != want.Class || tt.got.Module != want.Module || tt.got.Message != want.Message {
				t.Errorf("got %s / %s / %q, captured %s / %s / %q",
					tt.got.Module, tt.got.Class, tt.got.Message, want.Module, want.Class, want.Message)
			}
			assertJSONEqual(t, "args", tt.got.Args, want.Args)
			assertJSONEqual(t, "kwargs", tt.got.Kwargs, want.Kwargs)
			if gotLast, wantLast := tt.got.Traceback[len(tt.got.Traceback)-1], want.Traceback[len(want.Traceback)-1]; gotLast != wantLast {
				t.Errorf("last traceback line %q, captured %q", gotLast, wantLast)
			}
		})
	}
}

func TestGoldenNotifications(t *testing.T) {
	for _, m := range loadGolden(t) {
		if goldenKind(m.Name) != "notification" {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			body := []byte(m.Body)
			inner, err := Unwrap(body)
			if err != nil {
				t.Fatalf("Unwrap: %v", err)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(inner, &fields); err != nil {
				t.Fatalf("inner is not an object: %v", err)
			}
			for _, k := range []string{"message_id", "publisher_id", "event_type", "priority", "payload", "timestamp"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("notification lacks %q", k)
				}
			}
			if strings.HasPrefix(m.Name, "notification_v1_") {
				// The messaging (v1) driver sends no envelope: Unwrap
				// returns the body as is.
				if !bytes.Equal(inner, body) {
					t.Errorf("v1 body changed by Unwrap:\n got %s\nwant %s", inner, body)
				}
				return
			}
			var env map[string]string
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if string(inner) != env[EnvelopeMessageKey] {
				t.Errorf("Unwrap = %s, want the oslo.message string %s", inner, env[EnvelopeMessageKey])
			}
			// Wrap of the inner gives the same envelope structure back.
			if diff := cmp.Diff(structure(t, body), structure(t, Wrap(inner))); diff != "" {
				t.Errorf("Wrap(Unwrap(body)) differs (-golden +wrapped):\n%s", diff)
			}
		})
	}
}

// TestGoldenWrongKind decodes each capture as the other kind: a request is no
// reply and a reply no request; this checks that decoding the wrong
// kind never panics and that replies are not mistaken for requests.
func TestGoldenWrongKind(t *testing.T) {
	for _, m := range loadGolden(t) {
		t.Run(m.Name, func(t *testing.T) {
			switch goldenKind(m.Name) {
			case "reply":
				r, err := DecodeRequest([]byte(m.Body))
				if err != nil {
					t.Fatalf("DecodeRequest of a reply: %v", err)
				}
				if !r.MethodMissing {
					t.Errorf("reply decoded as a request has method %q", r.Method)
				}
			case "request":
				r, err := DecodeReply([]byte(m.Body))
				if err != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("DecodeReply of a request: %v", err)
				}
				if err == nil && (r.Ending || r.Failure != nil) {
					t.Errorf("request decoded as a reply: %+v", r)
				}
			}
		})
	}
}
