package oslo

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// jsonStringCases are tricky strings for appendString; want is the exact
// literal ("" to skip the exact check).
var jsonStringCases = []struct {
	name, in, want string
}{
	{"empty", "", `""`},
	{"plain", "echo", `"echo"`},
	{"quote", `say "hi"`, `"say \"hi\""`},
	{"backslash", `C:\path\n`, `"C:\\path\\n"`},
	{"escaped quote text", `\"`, `"\\\""`},
	{"newline, return, tab", "a\nb\rc\td", `"a\nb\rc\td"`},
	{"other control characters", "\x00\x01\x08\x0c\x1b\x1f", `"\u0000\u0001\u0008\u000c\u001b\u001f"`},
	{"DEL is not escaped", "\x7f", "\"\x7f\""},
	{"html characters stay raw", "<a href='x'>&</a>", `"<a href='x'>&</a>"`},
	{"slash stays raw", "a/b", `"a/b"`},
	{"raw utf-8", "héllo wörld", `"héllo wörld"`},
	{"line separators", "a\u2028b\u2029c", `"a\u2028b\u2029c"`},
	{"emoji", "ok 👍🏽 🇳🇴", `"ok 👍🏽 🇳🇴"`},
	{"cjk", "日本語", `"日本語"`},
	{"replacement character itself", "\ufffd", "\"\ufffd\""},
	{"BOM", "\ufeffx", "\"\ufeffx\""},
	{"max rune", "\U0010ffff", "\"\U0010ffff\""},
	{"invalid byte", "a\xffb", `"a\ufffdb"`},
	{"lone continuation", "\x80", `"\ufffd"`},
	{"truncated sequence at end", "ok\xe2\x82", `"ok\ufffd\ufffd"`},
	{"truncated sequence mid", "\xe2\x82x", `"\ufffd\ufffdx"`},
	{"surrogate half encoded", "\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	{"overlong slash", "\xc0\xaf", `"\ufffd\ufffd"`},
	{"json text", `{"method": "echo", "args": {"v": "h\u00e9"}}`, `"{\"method\": \"echo\", \"args\": {\"v\": \"h\\u00e9\"}}"`},
	{"long mixed", strings.Repeat("a\"\\\n\u2028é\x01", 100), ""},
}

func TestAppendString(t *testing.T) {
	for _, tt := range jsonStringCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, got := range [][]byte{pyjson.AppendString(nil, tt.in), pyjson.AppendString(nil, []byte(tt.in))} {
				if tt.want != "" && string(got) != tt.want {
					t.Errorf("pyjson.AppendString(%q) = %s, want %s", tt.in, got, tt.want)
				}
				if !utf8.Valid(got) {
					t.Errorf("pyjson.AppendString(%q) is not valid UTF-8: %q", tt.in, got)
				}
				var back string
				if err := json.Unmarshal(got, &back); err != nil {
					t.Fatalf("encoding/json cannot read %s: %v", got, err)
				}
				// What encoding/json makes of the same string.
				std, _ := json.Marshal(tt.in)
				var stdBack string
				if err := json.Unmarshal(std, &stdBack); err != nil {
					t.Fatal(err)
				}
				if back != stdBack {
					t.Errorf("pyjson.AppendString(%q) reads back as %q, encoding/json's as %q", tt.in, back, stdBack)
				}
				if utf8.ValidString(tt.in) && back != tt.in {
					t.Errorf("pyjson.AppendString(%q) reads back as %q", tt.in, back)
				}
			}
		})
	}
}

func TestAppendStringAppends(t *testing.T) {
	got := pyjson.AppendString([]byte("prefix:"), "x")
	if string(got) != `prefix:"x"` {
		t.Errorf("got %s", got)
	}
}

func TestAppendRaw(t *testing.T) {
	if got := appendRaw(nil, nil); string(got) != "null" {
		t.Errorf("appendRaw(nil) = %s", got)
	}
	if got := appendRaw([]byte("["), json.RawMessage(`{"a":1}`)); string(got) != `[{"a":1}` {
		t.Errorf("appendRaw = %s", got)
	}
}
