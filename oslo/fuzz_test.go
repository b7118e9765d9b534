package oslo

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// addGoldenSeeds seeds f with every captured body plus a few edge cases.
func addGoldenSeeds(f *testing.F, extra ...string) {
	for _, m := range loadGolden(f) {
		f.Add([]byte(m.Body))
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzDecodeRequest(f *testing.F) {
	addGoldenSeeds(f,
		`{"method": "echo", "args": {"v": "\xff"}, "_msg_id": "m", "_reply_q": "q", "_timeout": 2}`,
		`{"oslo.version": "2.0", "oslo.message": "{\"method\": null, \"_context_\": 1}"}`,
		`{"oslo.version": "2.0.0", "oslo.message": "{}"}`,
		`{"oslo.version": null, "oslo.message": "{}"}`,
		`{"method": "m", "args": null, "namespace": null, "_timeout": 1e10}`,
		`[]`, `null`, `{"method": "m", "args": NaN}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			if r != nil {
				t.Fatalf("request %+v alongside error %v", r, err)
			}
			return
		}
		iv, _ := r.HeartbeatInterval()
		if iv < 0 {
			t.Fatalf("negative heartbeat interval %v for _timeout %s", iv, r.Timeout)
		}
		_ = r.EndpointContext()
		enc := r.Encode()
		if !utf8.Valid(enc) || !json.Valid(enc) {
			t.Fatalf("Encode() is not valid UTF-8 JSON: %q", enc)
		}
		r2, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("DecodeRequest(Encode()): %v\nbody: %q\nencoded: %q", err, body, enc)
		}
		if r2.Method != r.Method || r2.MethodMissing != r.MethodMissing ||
			r2.Namespace != r.Namespace || r2.Version != r.Version ||
			r2.MsgID != r.MsgID || r2.UniqueID != r.UniqueID {
			t.Fatalf("round trip changed fields:\n%s", cmp.Diff(r, r2))
		}
		if r.IsCall() && r2.ReplyQ != r.ReplyQ {
			t.Fatalf("reply queue %q became %q", r.ReplyQ, r2.ReplyQ)
		}
		// Args are carried byte for byte, except that invalid UTF-8 of a
		// bare body becomes U+FFFD inside the envelope.
		if !bytes.Equal(r2.Args, r.Args) && (utf8.Valid(r.Args) || !cmp.Equal(r.Args, r2.Args, rawJSONEqual)) {
			t.Fatalf("args %q became %q", r.Args, r2.Args)
		}
		if !cmp.Equal(r.Context, r2.Context, rawJSONEqual) {
			t.Fatalf("context changed:\n%s", cmp.Diff(r.Context, r2.Context, rawJSONEqual))
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	addGoldenSeeds(f,
		`{"result": 1, "ending": true}`,
		`{"result": null, "failure": "{\"class\": \"E\"}", "ending": true, "_msg_id": "m"}`,
		`{"result": null, "failure": "{\"class\": \"E\", \"args\": 5, \"kwargs\": \"x\", \"tb\": null}"}`,
		`{"failure": {"class": "E"}}`,
		`{"failure": ""}`,
		`{"oslo.version": "2.0", "oslo.message": "null"}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReply(body)
		if err != nil {
			return
		}
		enc, err := r.Encode()
		if err != nil {
			t.Fatalf("Encode of a decoded reply: %v", err)
		}
		if !utf8.Valid(enc) || !json.Valid(enc) {
			t.Fatalf("Encode() is not valid UTF-8 JSON: %q", enc)
		}
		r2, err := DecodeReply(enc)
		if err != nil {
			t.Fatalf("DecodeReply(Encode()): %v\nbody: %q\nencoded: %q", err, body, enc)
		}
		if r2.MsgID != r.MsgID || r2.UniqueID != r.UniqueID || r2.Ending != r.Ending || r2.IsHeartbeat() != r.IsHeartbeat() {
			t.Fatalf("round trip changed fields:\n%s", cmp.Diff(r, r2, rawJSONEqual))
		}
		if (r.Failure == nil) != (r2.Failure == nil) {
			t.Fatalf("failure %+v became %+v", r.Failure, r2.Failure)
		}
		if r.Failure == nil {
			if !cmp.Equal(r.Result, r2.Result, rawJSONEqual) {
				t.Fatalf("result %q became %q", r.Result, r2.Result)
			}
			return
		}
		if r2.Result != nil {
			t.Fatalf("result %q sent alongside a failure", r2.Result)
		}
		if !cmp.Equal(r.Failure, r2.Failure, rawJSONEqual) {
			t.Fatalf("failure changed:\n%s", cmp.Diff(r.Failure, r2.Failure, rawJSONEqual))
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, c := range jsonStringCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := pyjson.AppendString(nil, s)
		if !bytes.Equal(out, pyjson.AppendString(nil, []byte(s))) {
			t.Fatalf("string and []byte forms differ for %q", s)
		}
		if !utf8.Valid(out) || !json.Valid(out) {
			t.Fatalf("pyjson.AppendString(%q) = %q, not valid UTF-8 JSON", s, out)
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("json.Unmarshal(%q): %v", out, err)
		}
		if utf8.ValidString(s) {
			if back != s {
				t.Fatalf("pyjson.AppendString(%q) reads back as %q", s, back)
			}
			return
		}
		// Invalid UTF-8: the same replacement encoding/json makes.
		std, _ := json.Marshal(s)
		var stdBack string
		if err := json.Unmarshal(std, &stdBack); err != nil {
			t.Fatal(err)
		}
		if back != stdBack {
			t.Fatalf("pyjson.AppendString(%q) reads back as %q, encoding/json's as %q", s, back, stdBack)
		}
	})
}
