package sdk

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
		if got := string(appendPyFloat(nil, tt.f, 64)); got != tt.want {
			t.Errorf("appendPyFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
	if got := string(appendPyFloat(nil, float64(float32(0.1)), 32)); got != "0.1" {
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
		got, err := marshalJSON(v)
		if err != nil {
			t.Fatalf("marshalJSON(%#v): %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if w := strings.TrimSuffix(want.String(), "\n"); string(got) != w {
			t.Errorf("marshalJSON =\n%s\nencoding/json =\n%s", got, w)
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
		if b, err := marshalJSON(v); err == nil {
			t.Errorf("marshalJSON(%T) = %s, want an error", v, b)
		}
	}
}
