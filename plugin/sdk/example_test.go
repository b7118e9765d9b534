package sdk_test

import (
	"context"
	"fmt"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

// Greeter is the whole plugin: its methods are the RPC methods.
type Greeter struct{}

// HelloArgs are the keyword arguments of hello.
type HelloArgs struct {
	Name string `json:"name"`
}

// Hello is called by Python as client.call(ctxt, "hello", name="oslo").
func (g *Greeter) Hello(ctx context.Context, a HelloArgs) (string, error) {
	if a.Name == "" {
		return "", sdk.ValueError("name must not be empty")
	}
	sdk.Logger(ctx).Debug("saying hello", "name", a.Name)
	return "hello, " + a.Name, nil
}

// A plugin's main is one line:
//
//	func main() { sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: &Greeter{}}) }
//
// Here sdktest serves it in-process instead, as a unit test would.
func Example() {
	h, err := sdktest.Start(sdk.Static(sdk.Endpoint{Version: "1.0", Impl: &Greeter{}}))
	if err != nil {
		panic(err)
	}
	defer h.Stop()

	var greeting string
	err = h.Call(context.Background(), "hello", map[string]any{"name": "oslo"}, &greeting)
	fmt.Println(greeting, err)

	err = h.Call(context.Background(), "hello", map[string]any{}, nil)
	fmt.Println(err)
	// Output:
	// hello, oslo <nil>
	// ValueError: name must not be empty
}
