package pyjson

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestPyFloat compares with Python 3.11's json.dumps of the same floats
// (python3 -c 'import json; print(json.dumps(x))').
func TestPyFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1.0, "1.0"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{0.01, "0.01"},
		{-2.5, "-2.5"},
		{1e16, "1e+16"},
		{1e15, "1000000000000000.0"},
		{123456789.0, "123456789.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1e300, "1e+300"},
		{1.5e-7, "1.5e-07"},
		{1e22, "1e+22"},
		{12345678901234567890.0, "1.2345678901234567e+19"},
		{float64(1<<53 + 1), "9007199254740992.0"},
		{0.30000000000000004, "0.30000000000000004"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
	}
	for _, tt := range tests {
		if got := string(AppendFloat(nil, tt.f, 64)); got != tt.want {
			t.Errorf("AppendFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
	if got := string(AppendFloat(nil, float64(float32(0.1)), 32)); got != "0.1" {
		t.Errorf("float32 0.1 = %s, want 0.1", got)
	}
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte("k-" + k.s), nil }

type inner struct {
	X int    `json:"x"`
	Y string `json:"y,omitempty"`
}

type Promoted struct {
	P int `json:"p"`
}

type shapes struct {
	Promoted
	*inner
	Name      string          `json:"name"`
	Skip      string          `json:"-"`
	Dash      string          `json:"-,"`
	Quoted    int             `json:"quoted,string"`
	QuotedS   string          `json:"qs,string"`
	Empty     []int           `json:"empty,omitempty"`
	Zero      time.Time       `json:"zero,omitzero"`
	When      time.Time       `json:"when"`
	Bytes     []byte          `json:"bytes"`
	Arr       [2]uint8        `json:"arr"`
	Nil       []string        `json:"nil"`
	Map       map[int]string  `json:"map"`
	Keys      map[textKey]int `json:"keys"`
	Big       *big.Int        `json:"big"`
	Addr      netip.Addr      `json:"addr"`
	Raw       json.RawMessage `json:"raw"`
	Num       json.Number     `json:"num"`
	Any       any             `json:"any"`
	HTML      string          `json:"html"`
	Ctl       string          `json:"ctl"`
	unexposed int
	Untagged  bool
	Nested    map[string][]*inner `json:"nested"`
}

// TestMarshalLikeEncodingJSON checks that values without floats encode as
// encoding/json (without HTML escaping) encodes them.
func TestMarshalLikeEncodingJSON(t *testing.T) {
	b, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	values := []any{
		nil, true, 42, int8(-3), uint64(math.MaxUint64), "s", []any{1, "x", nil},
		map[string]any{"b": 1, "a": []int{1}},
		shapes{
			Promoted: Promoted{P: 1}, inner: &inner{X: 2}, Name: "n", Skip: "s", Dash: "d", Quoted: 7, QuotedS: `a"b`,
			When: time.Date(2026, 12, 2, 16, 0, 0, 5, time.UTC), Bytes: []byte("hi\x00"), Arr: [2]uint8{1, 2},
			Map: map[int]string{10: "a", 2: "b"}, Keys: map[textKey]int{{"b"}: 1, {"a"}: 2}, Big: b,
			Addr: netip.MustParseAddr("10.0.0.1"), Raw: json.RawMessage(`{"x": 1.0}`), Num: "1.50",
			Any: map[string]any{"deep": []any{json.Number("9007199254740993")}}, HTML: "<a&b>", Ctl: "\x01\t\n\u2028\xff",
			unexposed: 1, Untagged: true, Nested: map[string][]*inner{"k": {{X: 1, Y: "y"}, nil}},
		},
		shapes{},
		&shapes{inner: nil},
	}
	for _, v := range values {
		got, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(want.String(), "\n"); string(got) != w {
			t.Errorf("Marshal =\n%s\nencoding/json =\n%s", got, w)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	type cyclic struct {
		Next *cyclic `json:"next"`
	}
	c := &cyclic{}
	c.Next = c
	for _, v := range []any{math.NaN(), math.Inf(1), make(chan int), func() {}, c, map[[2]int]int{{1, 2}: 3}} {
		if b, err := Marshal(v); err == nil {
			t.Errorf("Marshal(%T) = %s, want an error", v, b)
		}
	}
}

// TestMarshalNumbers is the number table of the oslo wire: a float goes
// as Python writes a float (with a point or an exponent), every integer
// type with all its digits, *big.Int and json.Number verbatim, so that a
// Python peer reads a float as float and an int as int.
func TestMarshalNumbers(t *testing.T) {
	big1, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"float64 1.0", 1.0, "1.0"},
		{"float64 0", 0.0, "0.0"},
		{"float64 -2.5", -2.5, "-2.5"},
		{"float64 1e16", 1e16, "1e+16"},
		{"float64 1e-05", 0.00001, "1e-05"},
		{"float32 0.1", float32(0.1), "0.1"},
		{"float32 1", float32(1), "1.0"},
		{"int 1", 1, "1"},
		{"int64 2^53+1", int64(1<<53 + 1), "9007199254740993"},
		{"int64 min", int64(math.MinInt64), "-9223372036854775808"},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615"},
		{"big.Int", big1, "-123456789012345678901234567890"},
		{"json.Number int", json.Number("9007199254740993"), "9007199254740993"},
		{"json.Number float", json.Number("1.0"), "1.0"},
		{"in a map", map[string]any{"f": 1.0, "i": 1}, `{"f":1.0,"i":1}`},
		{"in a slice", []any{2.0, 2, "2"}, `[2.0,2,"2"]`},
		{"in a struct", struct {
			F float64 `json:"f"`
			I int     `json:"i"`
			S float64 `json:"s,string"`
		}{3, 3, 3}, `{"f":3.0,"i":3,"s":"3.0"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal(%v) = %s, want %s", tt.v, got, tt.want)
			}
		})
	}
}
