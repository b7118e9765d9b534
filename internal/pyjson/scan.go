package pyjson

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// A small scanner over JSON that encoding/json has already validated
// (json.Valid): it walks an object's members and unescapes strings without
// building maps or reflecting, which keeps oslo's request decoding and the
// SDK's keyword check cheap on the hot path.

// ErrNotObject is EachMember's error for data that is not a JSON object.
var ErrNotObject = errors.New("not a JSON object")

// EachMember calls fn with the key and the raw value of every member of
// the JSON object in data, in order. data must be valid JSON. The key is
// passed as its literal's content: still escaped when escaped is true
// (rare: decode it with MemberKey or Unescape), so that fn can match plain keys without
// allocating.
func EachMember(data []byte, fn func(key []byte, escaped bool, value []byte) error) error {
	i := SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return ErrNotObject
	}
	i++
	for {
		i = SkipSpace(data, i)
		if data[i] == '}' {
			return nil
		}
		if data[i] == ',' {
			i = SkipSpace(data, i+1)
		}
		kEnd := SkipString(data, i)
		key := data[i+1 : kEnd-1]
		escaped := false
		for _, c := range key {
			if c == '\\' {
				escaped = true
				break
			}
		}
		i = SkipSpace(data, kEnd)
		i = SkipSpace(data, i+1) // the ':'
		vEnd := SkipValue(data, i)
		if err := fn(key, escaped, data[i:vEnd]); err != nil {
			return err
		}
		i = vEnd
	}
}

// SkipSpace returns the index of the first byte at or after data[i] that
// is not JSON white space.
func SkipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// SkipString returns the index just past the string starting at data[i].
func SkipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data)
}

// SkipValue returns the index just past the value starting at data[i].
func SkipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return SkipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = SkipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(data)
	default: // number, true, false, null
		for ; i < len(data); i++ {
			switch data[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
		}
		return i
	}
}

// Unquote decodes a valid JSON string literal (quotes included).
func Unquote(s []byte) string {
	inner := s[1 : len(s)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			return string(UnquoteBytes(s))
		}
	}
	return string(inner) // plain ASCII: one allocation
}

// MemberKey decodes a key as EachMember passes it.
func MemberKey(key []byte, escaped bool) string {
	if !escaped {
		return string(validUTF8(key))
	}
	return string(Unescape(key))
}

// UnquoteBytes decodes a valid JSON string literal (quotes included) into
// a new byte slice.
func UnquoteBytes(s []byte) []byte { return Unescape(s[1 : len(s)-1]) }

// Unescape decodes the content of a valid JSON string literal into a new
// byte slice.
func Unescape(s []byte) []byte {
	esc := -1
	for i, c := range s {
		if c == '\\' {
			esc = i
			break
		}
	}
	if esc < 0 {
		return validUTF8(append([]byte(nil), s...))
	}
	out := make([]byte, esc, len(s))
	copy(out, s[:esc])
	for i := esc; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(s[i+2:i+6])); r2 != utf8.RuneError {
						out = utf8.AppendRune(out, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // \" \\ \/
			out = append(out, s[i+1])
		}
		i += 2
	}
	return validUTF8(out)
}

// validUTF8 replaces each byte of an invalid UTF-8 sequence with U+FFFD,
// as encoding/json does when it decodes a string.
func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r) // RuneError for an invalid byte
		b = b[size:]
	}
	return out
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
