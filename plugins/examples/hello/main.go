// Command hello is the smallest oslohost plugin: one endpoint with one
// method. A Python oslo.messaging client calls it as
//
//	client.call(ctxt, "hello", name="oslo")  # returns "hello, oslo"
package main

import (
	"context"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// Greeter is the endpoint. Its exported methods that take a context are its
// RPC methods, exposed under their snake_case names (Hello is "hello").
type Greeter struct{}

// HelloArgs are the keyword arguments of hello, under their Python names.
// Like Python's def hello(self, ctxt, name), name is required: without it
// the caller gets Python's TypeError; a field tagged omitempty would be
// optional.
type HelloArgs struct {
	Name string `json:"name"`
}

// Hello returns a greeting for args.Name.
func (Greeter) Hello(ctx context.Context, args HelloArgs) (string, error) {
	return "hello, " + args.Name, nil
}

func main() {
	sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: Greeter{}})
}
