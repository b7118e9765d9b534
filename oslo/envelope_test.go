package oslo

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestWrap(t *testing.T) {
	inner := []byte(`{"method":"echo","args":{"v":"é\"\\"}}`)
	got := Wrap(inner)
	want := `{"oslo.version":"2.0","oslo.message":"{\"method\":\"echo\",\"args\":{\"v\":\"é\\\"\\\\\"}}"}`
	if string(got) != want {
		t.Errorf("Wrap = %s\nwant   %s", got, want)
	}
	back, err := Unwrap(got)
	if err != nil || string(back) != string(inner) {
		t.Errorf("Unwrap(Wrap(x)) = %s, %v; want %s", back, err, inner)
	}
}

func TestUnwrap(t *testing.T) {
	const req = `{"method": "echo", "args": {"value": "x"}, "_msg_id": "m1", "_reply_q": "q1"}`
	enveloped := func(version string) string {
		v, _ := json.Marshal(version)
		m, _ := json.Marshal(req)
		return `{"oslo.version": ` + string(v) + `, "oslo.message": ` + string(m) + `}`
	}
	tests := []struct {
		name    string
		body    string
		want    string // inner, when no error
		wantErr error
	}{
		{name: "python 2.0", body: enveloped("2.0"), want: req},
		{name: "compact 2.0", body: string(Wrap([]byte(req))), want: req},
		{name: "2.0.0", body: enveloped("2.0.0"), want: req},
		{name: "key order irrelevant", body: `{"oslo.message": "{}", "oslo.version": "2.0"}`, want: `{}`},
		{name: "extra envelope keys ignored", body: `{"oslo.version": "2.0", "oslo.message": "{}", "x": 1}`, want: `{}`},
		{name: "raw utf-8 in message (A.15)", body: `{"oslo.version":"2.0","oslo.message":"{\"v\":\"utf8 é raw\"}"}`, want: `{"v":"utf8 é raw"}`},
		{name: "escaped utf-8 in message", body: `{"oslo.version":"2.0","oslo.message":"{\"v\":\"utf8 \\u00e9 raw\"}"}`, want: `{"v":"utf8 \u00e9 raw"}`},
		{name: "escapes in the envelope string", body: `{"oslo.version":"2.0","oslo.message":"{\"v\":\"\u00e9\"}"}`, want: `{"v":"é"}`},
		{name: "surrounding white space", body: " \n" + enveloped("2.0") + "\t\r\n", want: req},

		// Format 1.0: an object lacking either key is the message itself.
		{name: "bare object", body: req, want: req},
		{name: "bare object, leading space", body: "\n  " + req, want: req},
		{name: "bare object, only version key", body: `{"oslo.version": "2.1", "method": "x"}`, want: `{"oslo.version": "2.1", "method": "x"}`},
		{name: "bare object, only message key", body: `{"oslo.message": 7}`, want: `{"oslo.message": 7}`},
		{name: "bare empty object", body: `{}`, want: `{}`},
		// Python looks keys up exactly: other spellings are no envelope.
		{name: "keys differ in case", body: `{"OSLO.VERSION": "2.1", "Oslo.Message": "{}"}`, want: `{"OSLO.VERSION": "2.1", "Oslo.Message": "{}"}`},

		// Envelope versions Python refuses (A.13 A4, spec 3.2).
		{name: "version 2.1", body: enveloped("2.1"), wantErr: ErrEnvelopeVersion},
		{name: "version 1.0", body: enveloped("1.0"), wantErr: ErrEnvelopeVersion},
		{name: "version 2", body: enveloped("2"), wantErr: ErrEnvelopeVersion},
		{name: "version 2.0.1", body: enveloped("2.0.1"), wantErr: ErrEnvelopeVersion},
		{name: "version 3.0", body: enveloped("3.0"), wantErr: ErrEnvelopeVersion},
		{name: "version a.b", body: enveloped("a.b"), wantErr: ErrEnvelopeVersion},
		{name: "version empty", body: enveloped(""), wantErr: ErrEnvelopeVersion},
		// Both keys present, version None: version_is_compatible("2.0", None)
		// is false, so Python raises UnsupportedRpcEnvelopeVersion.
		{name: "version null", body: `{"oslo.version": null, "oslo.message": "{}"}`, wantErr: ErrEnvelopeVersion},
		{name: "version a number", body: `{"oslo.version": 2.0, "oslo.message": "{}"}`, wantErr: ErrMalformed},

		// oslo.message must be a string (A.15 ENV_message_as_object).
		{name: "message an object", body: `{"oslo.version": "2.0", "oslo.message": {"method": "echo"}}`, wantErr: ErrMalformed},
		{name: "message null", body: `{"oslo.version": "2.0", "oslo.message": null}`, wantErr: ErrMalformed},
		{name: "message a number", body: `{"oslo.version": "2.0", "oslo.message": 1}`, wantErr: ErrMalformed},

		// Not an object at all.
		{name: "not JSON", body: `oslo`, wantErr: ErrMalformed},
		{name: "empty", body: ``, wantErr: ErrMalformed},
		{name: "white space", body: " \n", wantErr: ErrMalformed},
		{name: "truncated", body: enveloped("2.0")[:20], wantErr: ErrMalformed},
		{name: "trailing data", body: req + ` {}`, wantErr: ErrMalformed},
		{name: "NaN token", body: `{"method": "echo", "args": {"v": NaN}}`, wantErr: ErrMalformed},
		{name: "Infinity token", body: `{"method": "echo", "args": {"v": Infinity}}`, wantErr: ErrMalformed},
		{name: "-Infinity token", body: `{"method": "echo", "args": {"v": -Infinity}}`, wantErr: ErrMalformed},
		{name: "array", body: `[{"oslo.version": "2.0", "oslo.message": "{}"}]`, wantErr: ErrMalformed},
		{name: "string", body: `"{}"`, wantErr: ErrMalformed},
		{name: "number", body: `42`, wantErr: ErrMalformed},
		{name: "null", body: `null`, wantErr: ErrMalformed},
		{name: "true", body: `true`, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Unwrap([]byte(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Unwrap(%s) = %s, %v; want error %v", tt.body, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unwrap(%s): %v", tt.body, err)
			}
			if string(got) != tt.want {
				t.Errorf("Unwrap(%s)\n = %s\nwant %s", tt.body, got, tt.want)
			}
		})
	}
}

// TestDecodeMalformedBodies: the NaN reply Python really sent (A.15
// ENV_python_nan_result) and friends are malformed, not a crash.
func TestDecodeMalformedBodies(t *testing.T) {
	nanReply := `{"oslo.version": "2.0", "oslo.message": "{\"result\": {\"value\": NaN, \"kwargs\": {}, \"ctxt_seen\": {\"client_timeout\": null}}, \"failure\": null, \"ending\": true, \"_msg_id\": \"8ff3b721e32c409987afcf141ab3db5f\", \"_unique_id\": \"a66ef77760c54aac95dea1c67a8dfdd2\"}"}`
	nanRequest := `{"oslo.version": "2.0", "oslo.message": "{\"method\": \"echo\", \"args\": {\"v\": -Infinity}, \"_msg_id\": \"m\", \"_reply_q\": \"q\"}"}`
	tests := []struct {
		name string
		body string
	}{
		{"nan reply", nanReply},
		{"infinity request", nanRequest},
		{"inner not JSON", `{"oslo.version": "2.0", "oslo.message": "method=echo"}`},
		{"inner an array", `{"oslo.version": "2.0", "oslo.message": "[1, 2]"}`},
		{"inner a string", `{"oslo.version": "2.0", "oslo.message": "\"x\""}`},
		{"inner null", `{"oslo.version": "2.0", "oslo.message": "null"}`},
		{"inner empty", `{"oslo.version": "2.0", "oslo.message": ""}`},
		{"raw control character in inner string", `{"oslo.version": "2.0", "oslo.message": "{\"method\": \"a\nb\"}"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := DecodeRequest([]byte(tt.body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeRequest = %+v, %v; want ErrMalformed", r, err)
			}
			if r, err := DecodeReply([]byte(tt.body)); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeReply = %+v, %v; want ErrMalformed", r, err)
			}
		})
	}
}
