package oslo

import (
	"errors"
	"testing"
)

// compatibleCase is one call of Compatible; errClass is the Python
// exception class version_is_compatible raises ("" for none), errMsg its
// message.
type compatibleCase struct {
	have, want string
	ok         bool
	errClass   string
	errMsg     string
}

var compatibleCases = []compatibleCase{
	// Spec 3.6 examples.
	{have: "1.4", want: "1.3", ok: true},
	{have: "1.4", want: "1.4", ok: true},
	{have: "1.4", want: "1.5", ok: false},
	{have: "1.4", want: "2.0", ok: false},
	{have: "1.4", want: "1.4.1", ok: false},
	{have: "1.4.2", want: "1.4.1", ok: true},
	{have: "2.1", want: "2.0", ok: true},
	// Rule 1: no version.
	{have: "", want: "1.0", ok: true},
	{have: "", want: "", ok: true},
	{have: "", want: "garbage", ok: true},
	{have: "1.4", want: "", ok: false},
	// Spec 6.4 (version_cap 1.4).
	{have: "1.4", want: "1.0", ok: true},
	// Revisions.
	{have: "1.4", want: "1.4.0", ok: true},
	{have: "1.4.0", want: "1.4", ok: true},
	{have: "1.4.1", want: "1.4", ok: true},
	{have: "1.5", want: "1.4.9", ok: true},
	{have: "1.4.1.7", want: "1.4.1.9", ok: true}, // parts past the third are ignored
	{have: "10.0", want: "9.0", ok: false},
	// Envelope versions (spec 3.2).
	{have: "2.0", want: "2.0", ok: true},
	{have: "2.0", want: "2.0.0", ok: true},
	{have: "2.0", want: "2.0.1", ok: false},
	{have: "2.0", want: "2.1", ok: false},
	{have: "2.0", want: "1.0", ok: false},
	// int() accepts surrounding white space and a sign.
	{have: "1.4", want: " 1 . 3 ", ok: true},
	{have: "+1.4", want: "1.+4", ok: true},
	// Errors: a version without a minor part, parts that are not integers.
	{have: "2.0", want: "2", errClass: "IndexError", errMsg: "list index out of range"},
	{have: "2", want: "2.0", errClass: "IndexError", errMsg: "list index out of range"},
	{have: "1.0", want: "a.b", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: 'a'"},
	{have: "1.0", want: "1.b", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: 'b'"},
	{have: "x.0", want: "1.0", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: 'x'"},
	{have: "1.0", want: "1.0.x", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: 'x'"},
	{have: "1.0", want: "1..0", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: ''"},
	{have: "1.0", want: "1.0.", errClass: "ValueError", errMsg: "invalid literal for int() with base 10: ''"},
	{have: "1.0", want: "1.it's", errClass: "ValueError", errMsg: `invalid literal for int() with base 10: "it's"`},
	// Python compares lazily: a part that is never looked at cannot fail.
	{have: "1.0", want: "2", ok: false},     // majors differ before the minor is read
	{have: "1.x", want: "2.0", ok: false},   // likewise for have
	{have: "1.4", want: "1.3.x", ok: true},  // revision read only when minors are equal
	{have: "1.4.x", want: "1.3", ok: true},  // likewise for have
	{have: "1.4", want: "1.5.x", ok: false}, // minor too high first
	{have: "1.0", want: "2.x", ok: false},
}

func TestCompatible(t *testing.T) {
	for _, tt := range compatibleCases {
		t.Run(tt.have+"/"+tt.want, func(t *testing.T) {
			ok, err := Compatible(tt.have, tt.want)
			if tt.errClass == "" {
				if err != nil || ok != tt.ok {
					t.Fatalf("Compatible(%q, %q) = %v, %v; want %v, nil", tt.have, tt.want, ok, err, tt.ok)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("Compatible(%q, %q) = %v, %v; want a *Failure %s", tt.have, tt.want, ok, err, tt.errClass)
			}
			if ok {
				t.Errorf("ok = true alongside an error")
			}
			if f.Class != tt.errClass || f.Module != ModuleBuiltins || f.Message != tt.errMsg {
				t.Errorf("failure = %s.%s %q, want builtins.%s %q", f.Module, f.Class, f.Message, tt.errClass, tt.errMsg)
			}
		})
	}
}
