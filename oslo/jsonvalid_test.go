package oslo

import (
	"encoding/json"
	"testing"
)

// TestValidJSONMatchesEncodingJSON: the fast validator agrees with
// json.Valid on a table of tricky inputs (and FuzzValidJSON on any).
func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range validJSONCases {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("validJSON(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
}

var validJSONCases = []string{
	``, ` `, `{}`, ` {} `, `[]`, `[1,2]`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{1:2}`,
	`"x"`, `"\u00e9"`, `"\u00G9"`, `"\x"`, "\"a\tb\"", `"a\/b"`, `"unterminated`,
	`0`, `-0`, `01`, `1.`, `.5`, `1e5`, `1E+5`, `1e`, `-`, `--1`, `1.5e-3`, `123456789012345678901234567890`,
	`true`, `tru`, `nulll`, `NaN`, `Infinity`, `-Infinity`, `{"a":NaN}`,
	`{"a":[1,{"b":null}],"c":"d"}`, `{"a":1}{"b":2}`, `[[[[]]]]`, `[[[[]]]`, `{"a":"b"`, `{"a"`,
	"\"\xff\"", `"\ud800"`, `"` + "\u2028" + `"`,
}

func FuzzValidJSON(f *testing.F) {
	for _, s := range validJSONCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
