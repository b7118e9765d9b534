package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// decodeArgs decodes the args object into a new value of m.argType (no
// value when the method takes no args) and checks its keys against the
// method's parameters as Python binds keyword arguments; a keyword error
// wins over a type mismatch, which Python would only meet later, in the
// method. null or empty args are an empty object. A key the struct has
// no field for is Python's "got an unexpected keyword argument" TypeError
// (the first such key, in the order sent); a required field (one whose json
// tag says neither omitempty nor omitzero) without its key is Python's
// "missing N required positional argument(s)" TypeError, naming the missing
// ones in declaration order. A map type takes every key (**kwargs). Numbers
// in untyped places (any, map[string]any) become json.Number, so that they
// go back exactly as they came.
func (m *method) decodeArgs(argsJSON []byte) (reflect.Value, error) {
	raw := bytes.TrimSpace(argsJSON)
	if len(raw) == 0 || string(raw) == "null" {
		raw = nil
	} else if raw[0] != '{' {
		return reflect.Value{}, TypeError("%s() argument after ** must be a mapping, not %s", m.qualName, jsonKind(string(raw)))
	}
	if m.argType == nil {
		if raw != nil && !json.Valid(raw) {
			return reflect.Value{}, argsError(m.qualName, errors.New("invalid JSON"))
		}
		return reflect.Value{}, m.checkKeywords(raw)
	}
	ptr := reflect.New(m.argType)
	if raw != nil {
		if err := m.unmarshal(raw, ptr.Interface()); err != nil {
			// A type mismatch leaves raw read whole (so valid JSON): the
			// keywords are checked first, as Python binds them before
			// the method runs.
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				if kerr := m.checkKeywords(raw); kerr != nil {
					return reflect.Value{}, kerr
				}
			}
			return reflect.Value{}, argsError(m.qualName, err)
		}
	}
	if err := m.checkKeywords(raw); err != nil {
		return reflect.Value{}, err
	}
	v := ptr.Elem()
	switch m.argType.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(m.argType.Elem()))
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(m.argType))
		}
	}
	return v, nil
}

// unmarshal decodes raw into v, numbers in interfaces as json.Number (so
// that they keep their precision) when v's type has such places; without
// them, json.Unmarshal decodes the same, without a Decoder and its buffer
// per call.
func (m *method) unmarshal(raw []byte, v any) error {
	if !m.numbers {
		return json.Unmarshal(raw, v)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

// checkKeywords applies Python's rules for keyword arguments to the keys
// of raw, a valid JSON object (nil: no arguments): unknown keywords first,
// in the order sent, then missing ones.
func (m *method) checkKeywords(raw []byte) error {
	if m.params == nil && m.argType != nil {
		return nil // a map: **kwargs
	}
	var seenBuf [16]bool
	var seen []bool
	if m.params != nil {
		seen = seenBuf[:0]
		if n := len(m.params.List); n <= len(seenBuf) {
			seen = seenBuf[:n]
		} else {
			seen = make([]bool, n)
		}
	}
	if raw != nil {
		var unexpected string
		found := false
		eachKey(raw, func(key []byte) bool {
			i, ok := -1, false
			if m.params != nil {
				i, ok = m.params.ByName[string(key)]
			}
			if !ok {
				unexpected, found = string(key), true
				return false
			}
			seen[i] = true
			return true
		})
		if found {
			return TypeError("%s() got an unexpected keyword argument '%s'", m.qualName, unexpected)
		}
	}
	if m.params == nil {
		return nil
	}
	var missing []string
	for i := range m.params.List {
		if f := &m.params.List[i]; !f.Optional() && !seen[i] {
			missing = append(missing, f.Name)
		}
	}
	if len(missing) > 0 {
		return missingArgs(m.qualName, missing)
	}
	return nil
}

// missingArgs is the TypeError Python raises for missing arguments, listing
// them as its format_missing does: 'a'; 'a' and 'b'; 'a', 'b', and 'c'.
func missingArgs(qualName string, names []string) *RemoteError {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = pyRepr(n)
	}
	var list string
	switch len(quoted) {
	case 1:
		list = quoted[0]
	case 2:
		list = quoted[0] + " and " + quoted[1]
	default:
		list = strings.Join(quoted[:len(quoted)-1], ", ") + ", and " + quoted[len(quoted)-1]
	}
	plural := "s"
	if len(names) == 1 {
		plural = ""
	}
	return TypeError("%s() missing %d required positional argument%s: %s", qualName, len(names), plural, list)
}

// eachKey calls fn with each key of the valid JSON object raw, in order,
// until fn returns false. A key is passed unescaped; fn must not keep it.
func eachKey(raw []byte, fn func(key []byte) bool) {
	_ = pyjson.EachMember(raw, func(key []byte, escaped bool, _ []byte) error {
		if escaped {
			key = pyjson.Unescape(key)
		}
		if !fn(key) {
			return errStopKeys
		}
		return nil
	})
}

// errStopKeys ends eachKey's walk when fn returns false.
var errStopKeys = errors.New("stop")

// argsError is the TypeError a Python method would raise for bad arguments.
func argsError(qualName string, err error) *RemoteError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return TypeError("%s() argument '%s': expected %s, got %s", qualName, te.Field, pyTypeName(te.Type), te.Value)
		}
		return TypeError("%s() arguments: expected %s, got %s", qualName, pyTypeName(te.Type), te.Value)
	}
	return TypeError("%s() arguments: %v", qualName, err)
}

func pyTypeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.String:
		return "str"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "dict"
	}
	return t.String()
}

func jsonKind(raw string) string {
	switch raw[0] {
	case '[':
		return "list"
	case '"':
		return "str"
	case 't', 'f':
		return "bool"
	}
	return "number"
}
