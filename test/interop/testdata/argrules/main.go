// Command argrules is the Go twin of the Python endpoint Rules in
// test/pypeer/py/oslo_server.py: the same class name, methods and
// signatures, declared the Go way (a field without omitempty is a required
// argument), so that the interop test can check that both raise the same
// TypeErrors and send numbers back alike.
package main

import (
	"context"
	"math"
	"math/big"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// Rules is the endpoint (namespace argrules, version 1.0).
type Rules struct{}

// def add(self, ctxt, increment)
type addArgs struct {
	Increment any `json:"increment"`
}

func (Rules) Add(_ context.Context, a addArgs) (any, error) { return a.Increment, nil }

// def two(self, ctxt, a, b)
type twoArgs struct {
	A any `json:"a"`
	B any `json:"b"`
}

func (Rules) Two(_ context.Context, a twoArgs) ([]any, error) { return []any{a.A, a.B}, nil }

// def four(self, ctxt, a, b, c, d)
type fourArgs struct {
	A any `json:"a"`
	B any `json:"b"`
	C any `json:"c"`
	D any `json:"d"`
}

func (Rules) Four(_ context.Context, a fourArgs) ([]any, error) {
	return []any{a.A, a.B, a.C, a.D}, nil
}

// def opt(self, ctxt, a, b=2, c=None): omitempty makes b and c optional;
// b's pointer tells b=0 from b left out.
type optArgs struct {
	A any     `json:"a"`
	B *int    `json:"b,omitempty"`
	C *string `json:"c,omitempty"`
}

func (Rules) Opt(_ context.Context, a optArgs) ([]any, error) {
	b := 2
	if a.B != nil {
		b = *a.B
	}
	return []any{a.A, b, a.C}, nil
}

// def none(self, ctxt)
func (Rules) None(context.Context) (string, error) { return "none", nil }

// def echo_float(self, ctxt, x): return float(x)
type floatArgs struct {
	X float64 `json:"x"`
}

func (Rules) EchoFloat(_ context.Context, a floatArgs) (float64, error) { return a.X, nil }

// def echo_int(self, ctxt, x): return int(x)
type intArgs struct {
	X int64 `json:"x"`
}

func (Rules) EchoInt(_ context.Context, a intArgs) (int64, error) { return a.X, nil }

// def echo_big(self, ctxt, x): return int(x)
type bigArgs struct {
	X *big.Int `json:"x"`
}

func (Rules) EchoBig(_ context.Context, a bigArgs) (*big.Int, error) { return a.X, nil }

// def echo_any(self, ctxt, value): return value
type anyArgs struct {
	Value any `json:"value"`
}

func (Rules) EchoAny(_ context.Context, a anyArgs) (any, error) { return a.Value, nil }

// Floats returns numbers computed in Go, as Python's floats() does.
func (Rules) Floats(context.Context) ([]any, error) {
	two70 := new(big.Int).Lsh(big.NewInt(1), 70)
	x, y := 0.1, 0.2
	return []any{1.0, 1, 1e16, 1.5e-07, 0.5, math.Copysign(0, -1), two70, x + y}, nil
}

func main() {
	sdk.Serve(sdk.Endpoint{Namespace: "argrules", Version: "1.0", Impl: Rules{}})
}
