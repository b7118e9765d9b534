package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// decodeArgs checks the args object against the method's parameters as
// Python checks keyword arguments, then decodes it into a new value of
// m.argType. null or empty args are an empty object. A key the struct has
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
	if err := m.checkKeywords(raw); err != nil {
		return reflect.Value{}, err
	}
	if m.argType == nil {
		return reflect.Value{}, nil
	}
	ptr := reflect.New(m.argType)
	if raw != nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(ptr.Interface()); err != nil {
			return reflect.Value{}, argsError(m.qualName, err)
		}
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

// checkKeywords applies Python's rules for keyword arguments to the keys
// of raw (nil: no arguments): unknown keywords first, then missing ones.
func (m *method) checkKeywords(raw []byte) error {
	if m.params == nil && m.argType != nil {
		return nil // a map: **kwargs
	}
	var sent map[string]bool
	if raw != nil {
		keys, err := objectKeys(raw)
		if err != nil {
			return argsError(m.qualName, err)
		}
		sent = make(map[string]bool, len(keys))
		for _, k := range keys {
			if m.params == nil {
				return TypeError("%s() got an unexpected keyword argument '%s'", m.qualName, k)
			}
			if _, ok := m.params.byName[k]; !ok {
				return TypeError("%s() got an unexpected keyword argument '%s'", m.qualName, k)
			}
			sent[k] = true
		}
	}
	if m.params == nil {
		return nil
	}
	var missing []string
	for i := range m.params.list {
		if f := &m.params.list[i]; !f.optional() && !sent[f.name] {
			missing = append(missing, f.name)
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

// objectKeys returns the keys of the JSON object raw, in order.
func objectKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	var skip json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

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
