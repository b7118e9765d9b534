package sdk_test

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"testing"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

// Rules has the signatures of the Python endpoint
//
//	class Rules(object):
//	    def add(self, ctxt, increment): ...
//	    def two(self, ctxt, a, b): ...
//	    def four(self, ctxt, a, b, c, d): ...
//	    def opt(self, ctxt, a, b=2, c=None): ...
//	    def none(self, ctxt): ...
//	    def kwargs(self, ctxt, **kwargs): ...
type Rules struct{}

type IncrementArgs struct {
	Increment int `json:"increment"`
}

type TwoArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

type fourArgs struct {
	A int `json:"a"`
	B int `json:"b"`
	C int `json:"c"`
	D int `json:"d"`
}

type OptArgs struct {
	A int     `json:"a"`
	B int     `json:"b,omitempty"`
	C *string `json:"c,omitzero"`
}

// Embedded fields are keyword arguments too, as encoding/json promotes them.
type EmbeddedArgs struct {
	TwoArgs
	Label string `json:"label,omitempty"`
}

func (Rules) Add(_ context.Context, a IncrementArgs) (int, error) { return a.Increment, nil }
func (Rules) Two(_ context.Context, a TwoArgs) (int, error)       { return a.A + a.B, nil }
func (Rules) Four(_ context.Context, a fourArgs) (int, error)     { return a.A + a.B + a.C + a.D, nil }
func (Rules) Opt(_ context.Context, a *OptArgs) (any, error) {
	if a.B == 0 {
		a.B = 2
	}
	return []any{a.A, a.B, a.C}, nil
}
func (Rules) None(context.Context) (string, error)                       { return "none", nil }
func (Rules) Kwargs(_ context.Context, kw map[string]any) (any, error)   { return len(kw), nil }
func (Rules) Embedded(_ context.Context, a EmbeddedArgs) (string, error) { return a.Label, nil }

// TestPythonArgumentRules checks the SDK's TypeErrors against the messages
// CPython 3.11 gives for the signatures in Rules' comment (taken from
// /usr/bin/python3; the interop test checks them against a live server).
func TestPythonArgumentRules(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Rules{}})
	tests := []struct {
		method string
		args   string
		want   string // result JSON, or the TypeError's message
		fails  bool
	}{
		{"add", `{"increment": 1}`, `1`, false},
		{"add", `{"increment": 1, "bogus": 2}`, "Rules.add() got an unexpected keyword argument 'bogus'", true},
		{"add", `{"zz": 1, "bogus": 2}`, "Rules.add() got an unexpected keyword argument 'zz'", true}, // the first sent, before missing ones
		{"add", `{}`, "Rules.add() missing 1 required positional argument: 'increment'", true},
		{"add", `null`, "Rules.add() missing 1 required positional argument: 'increment'", true},
		{"add", `{"Increment": 1}`, "Rules.add() got an unexpected keyword argument 'Increment'", true},           // names are case-sensitive
		{"add", `{"increment": "x", "bogus": 1}`, "Rules.add() got an unexpected keyword argument 'bogus'", true}, // keywords bind before types matter
		{"add", `{"increment": "x"}`, "Rules.add() argument 'increment': expected int, got string", true},
		{"two", `{"a": "x"}`, "Rules.two() missing 1 required positional argument: 'b'", true},
		{"two", `{}`, "Rules.two() missing 2 required positional arguments: 'a' and 'b'", true},
		{"two", `{"b": 1}`, "Rules.two() missing 1 required positional argument: 'a'", true},
		{"four", `{}`, "Rules.four() missing 4 required positional arguments: 'a', 'b', 'c', and 'd'", true},
		{"four", `{"c": 1}`, "Rules.four() missing 3 required positional arguments: 'a', 'b', and 'd'", true},
		{"opt", `{"a": 1}`, `[1,2,null]`, false},
		{"opt", `{"a": 1, "b": 5, "c": "x"}`, `[1,5,"x"]`, false},
		{"opt", `{"b": 5}`, "Rules.opt() missing 1 required positional argument: 'a'", true},
		{"none", `{}`, `"none"`, false},
		{"none", `{"x": 1}`, "Rules.none() got an unexpected keyword argument 'x'", true},
		{"kwargs", `{"x": 1, "y": 2}`, `2`, false},
		{"embedded", `{"a": 1, "b": 2, "label": "l"}`, `"l"`, false},
		{"embedded", `{"a": 1}`, "Rules.embedded() missing 1 required positional argument: 'b'", true},
		{"embedded", `{"a": 1, "b": 2, "TwoArgs": {}}`, "Rules.embedded() got an unexpected keyword argument 'TwoArgs'", true},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.args, func(t *testing.T) {
			var got json.RawMessage
			err := h.Call(context.Background(), tt.method, json.RawMessage(tt.args), &got)
			if !tt.fails {
				if err != nil || string(got) != tt.want {
					t.Fatalf("%s(**%s) = %s, %v; want %s", tt.method, tt.args, got, err, tt.want)
				}
				return
			}
			re := remote(t, err)
			if re.Module != "builtins" || re.Class != "TypeError" || re.Message != tt.want {
				t.Errorf("%s(**%s): got %s.%s %q, want builtins.TypeError %q", tt.method, tt.args, re.Module, re.Class, re.Message, tt.want)
			}
		})
	}
}

// Numbers echoes numbers through typed and untyped places.
type Numbers struct{}

type NumberArgs struct {
	F   float64         `json:"f,omitempty"`
	F32 float32         `json:"f32,omitempty"`
	I   int64           `json:"i,omitempty"`
	U   uint64          `json:"u,omitempty"`
	Big *big.Int        `json:"big,omitempty"`
	Any any             `json:"any,omitempty"`
	Map map[string]any  `json:"map,omitempty"`
	Num json.Number     `json:"num,omitempty"`
	Raw json.RawMessage `json:"raw,omitempty"`
}

func (Numbers) Echo(_ context.Context, a NumberArgs) (NumberArgs, error) { return a, nil }

// TypedNumberArgs has no interface anywhere: its arguments are decoded
// without UseNumber (json.Unmarshal), which must keep them as exact.
type TypedNumberArgs struct {
	F   float64         `json:"f,omitempty"`
	I   int64           `json:"i,omitempty"`
	U   uint64          `json:"u,omitempty"`
	Big *big.Int        `json:"big,omitempty"`
	Num json.Number     `json:"num,omitempty"`
	Raw json.RawMessage `json:"raw,omitempty"`
}

func (Numbers) EchoTyped(_ context.Context, a TypedNumberArgs) (TypedNumberArgs, error) {
	return a, nil
}

// Floats are computed in Go: a float64 holding an integer value.
func (Numbers) Floats(context.Context) (any, error) {
	return map[string]any{"one": 1.0, "half": 0.5, "big": 1e16, "tiny": 1.5e-7, "int": 1, "f32": float32(0.1), "neg0": math.Copysign(0, -1)}, nil
}

// TestNumbersExact checks that a float stays a float and an int an int,
// and that integers beyond 2^53 (and 2^64) survive, in arguments and
// results, in typed and untyped places.
func TestNumbersExact(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Numbers{}})
	tests := []struct {
		args string
		want string
	}{
		{`{"f": 1.0}`, `{"f":1.0}`},
		{`{"f": 1}`, `{"f":1.0}`}, // a float64 parameter: Python float(1)
		{`{"f": 0.1}`, `{"f":0.1}`},
		{`{"f": 1e16}`, `{"f":1e+16}`},
		{`{"f": 12345678901234567890}`, `{"f":1.2345678901234567e+19}`},
		{`{"f32": 0.1}`, `{"f32":0.1}`},
		{`{"i": 9007199254740993}`, `{"i":9007199254740993}`},
		{`{"i": -9223372036854775808}`, `{"i":-9223372036854775808}`},
		{`{"u": 18446744073709551615}`, `{"u":18446744073709551615}`},
		{`{"big": 123456789012345678901234567890}`, `{"big":123456789012345678901234567890}`},
		{`{"any": 9007199254740993}`, `{"any":9007199254740993}`},
		{`{"any": 1.0}`, `{"any":1.0}`},
		{`{"any": 1}`, `{"any":1}`},
		{`{"any": [1, 1.0, 1e400, 2.5e-7]}`, `{"any":[1,1.0,1e400,2.5e-7]}`}, // untyped: as sent
		{`{"map": {"a": 18446744073709551617, "b": 3.0}}`, `{"map":{"a":18446744073709551617,"b":3.0}}`},
		{`{"num": 1.50}`, `{"num":1.50}`},
		{`{"raw": {"x": 1.0}}`, `{"raw":{"x":1.0}}`},
	}
	typed := map[string]bool{"f": true, "i": true, "u": true, "big": true, "num": true, "raw": true}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			methods := []string{"echo"}
			var only map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.args), &only); err == nil && len(only) == 1 {
				for k := range only {
					if typed[k] {
						methods = append(methods, "echo_typed") // the same without an interface
					}
				}
			}
			for _, m := range methods {
				var got json.RawMessage
				if err := h.Call(context.Background(), m, json.RawMessage(tt.args), &got); err != nil {
					t.Fatal(err)
				}
				if string(got) != tt.want {
					t.Errorf("%s(**%s) = %s, want %s", m, tt.args, got, tt.want)
				}
			}
		})
	}
	var got json.RawMessage
	if err := h.Call(context.Background(), "floats", nil, &got); err != nil {
		t.Fatal(err)
	}
	// Python's json.dumps of the same values (sort_keys).
	if want := `{"big":1e+16,"f32":0.1,"half":0.5,"int":1,"neg0":-0.0,"one":1.0,"tiny":1.5e-07}`; string(got) != want {
		t.Errorf("floats = %s, want %s", got, want)
	}
}
