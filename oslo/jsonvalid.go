package oslo

import "github.com/oslohost/oslohost/internal/pyjson"

// validJSON reports whether data is exactly one valid JSON value (RFC 8259,
// as encoding/json accepts it), a faster stand-in for json.Valid on the hot
// path. Nesting deeper than maxDepth is refused, as encoding/json does.
func validJSON(data []byte) bool {
	v := validator{data: data}
	i, ok := v.value(v.space(0), 0)
	return ok && v.space(i) == len(data)
}

const maxDepth = 10000

type validator struct{ data []byte }

func (v *validator) space(i int) int { return pyjson.SkipSpace(v.data, i) }

func (v *validator) value(i, depth int) (int, bool) {
	d := v.data
	if i >= len(d) {
		return i, false
	}
	switch c := d[i]; {
	case c == '"':
		return v.str(i)
	case c == '{':
		return v.container(i, depth+1, '}')
	case c == '[':
		return v.container(i, depth+1, ']')
	case c == 't':
		return v.literal(i, "true")
	case c == 'f':
		return v.literal(i, "false")
	case c == 'n':
		return v.literal(i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number(i)
	}
	return i, false
}

func (v *validator) literal(i int, lit string) (int, bool) {
	if len(v.data)-i < len(lit) || string(v.data[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// container parses an object (close '}') or an array (close ']') from its
// opening bracket at i: members separated by commas, an object's each a
// "key": value, an array's a value.
func (v *validator) container(i, depth int, close byte) (int, bool) {
	if depth > maxDepth {
		return i, false
	}
	d := v.data
	i = v.space(i + 1)
	if i < len(d) && d[i] == close {
		return i + 1, true
	}
	for {
		var ok bool
		if close == '}' {
			if i, ok = v.key(i); !ok {
				return i, false
			}
		}
		if i, ok = v.value(i, depth); !ok {
			return i, false
		}
		if i = v.space(i); i >= len(d) {
			return i, false
		}
		switch d[i] {
		case ',':
			i = v.space(i + 1)
		case close:
			return i + 1, true
		default:
			return i, false
		}
	}
}

// key parses an object member's "key": and the space up to its value.
func (v *validator) key(i int) (int, bool) {
	d := v.data
	if i >= len(d) || d[i] != '"' {
		return i, false
	}
	i, ok := v.str(i)
	if !ok {
		return i, false
	}
	if i = v.space(i); i >= len(d) || d[i] != ':' {
		return i, false
	}
	return v.space(i + 1), true
}

func (v *validator) str(i int) (int, bool) {
	d := v.data
	for i++; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(d) {
				return i, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) {
					return i, false
				}
				for _, h := range d[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (v *validator) number(i int) (int, bool) {
	d := v.data
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i++; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, false
		}
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return i, false
		}
		for ; i < len(d) && d[i] >= '0' && d[i] <= '9'; i++ {
		}
	}
	return i, true
}
