package sdk

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// tokenKeys is the reference: the keys of a JSON object by encoding/json.
func tokenKeys(t *testing.T, raw string) []string {
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestEachKey(t *testing.T) {
	for _, raw := range []string{
		`{}`,
		` { } `,
		`{"a":1}`,
		"{\n \"a\" :\t1 , \"b\": \"x,}\\\"]\" ,\"c\":[1,{\"d\":\"}\"}], \"e\":{\"f\":{}}, \"g\":null, \"h\":true, \"i\":-1.5e3}",
		`{"k\"q":1, "\u00e9t\u00e9":2, "back\\slash":[], "x":"\\"}`,
		`{"a":{"b":[[],[{}]]},"c":"]]]"}`,
	} {
		var got []string
		eachKey([]byte(raw), func(k []byte) bool { got = append(got, string(k)); return true })
		if want := tokenKeys(t, raw); !reflect.DeepEqual(got, want) {
			t.Errorf("eachKey(%s) = %q, want %q", raw, got, want)
		}
	}
	var first []string
	eachKey([]byte(`{"a":1,"b":2}`), func(k []byte) bool { first = append(first, string(k)); return false })
	if !reflect.DeepEqual(first, []string{"a"}) {
		t.Errorf("eachKey did not stop: %q", first)
	}
}

type selfDecoding struct{ V any }

func (s *selfDecoding) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &s.V) }

type recursive struct {
	Name     string
	Children []recursive
	Next     *recursive
}

// TestHoldsInterface: the argument types that need UseNumber (a number
// may land in an interface) are told from those json.Unmarshal decodes
// the same.
func TestHoldsInterface(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{struct{ V json.RawMessage }{}, false},
		{struct {
			A int
			B string
			C []float64
		}{}, false},
		{struct{ V any }{}, true},
		{&struct{ V any }{}, true},
		{map[string]any{}, true},
		{map[string]int{}, false},
		{struct{ V []map[string]any }{}, true},
		{struct{ V [2]any }{}, true},
		{recursive{}, false},
		{struct{ S selfDecoding }{}, false},
		{struct {
			R recursive
			V any
		}{}, true},
	} {
		typ := reflect.TypeOf(tc.v)
		if got := holdsInterface(typ, map[reflect.Type]bool{}); got != tc.want {
			t.Errorf("%v: %v, want %v", typ, got, tc.want)
		}
	}
}
