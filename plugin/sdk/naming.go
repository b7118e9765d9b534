package sdk

import (
	"strings"
	"unicode"
)

// SnakeCase returns the RPC name of a Go method name: "AddNumbers" is
// "add_numbers", "GetHTTPStatus" is "get_http_status", "V2Echo" is "v2_echo".
// An upper-case letter starts a new word after a lower-case letter or a digit,
// and ends a run of capitals when a lower-case letter follows it.
func SnakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	b.Grow(len(name) + 4)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
