package sdk_test

import (
	"context"
	"fmt"

	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
)

// Greeter is the whole plugin: its methods are the RPC methods.
type Greeter struct{}

// HelloArgs are the keyword arguments of hello, as Python's
// def hello(self, ctxt, name, greeting="hello") declares them: name is
// required, greeting (omitempty) optional.
type HelloArgs struct {
	Name     string `json:"name"`
	Greeting string `json:"greeting,omitempty"`
}

// Hello is called by Python as client.call(ctxt, "hello", name="oslo").
func (g *Greeter) Hello(ctx context.Context, a HelloArgs) (string, error) {
	if a.Name == "" {
		return "", sdk.ValueError("name must not be empty")
	}
	if a.Greeting == "" {
		a.Greeting = "hello"
	}
	sdk.Logger(ctx).Debug("saying hello", "name", a.Name)
	return a.Greeting + ", " + a.Name, nil
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

	err = h.Call(context.Background(), "hello", map[string]any{"name": "oslo", "greeting": "hi"}, &greeting)
	fmt.Println(greeting, err)

	err = h.Call(context.Background(), "hello", map[string]any{"name": ""}, nil)
	fmt.Println(err)

	// Python's rules for keyword arguments, with Python's messages:
	err = h.Call(context.Background(), "hello", map[string]any{}, nil)
	fmt.Println(err)
	err = h.Call(context.Background(), "hello", map[string]any{"name": "oslo", "nmae": "oslo"}, nil)
	fmt.Println(err)
	// Output:
	// hello, oslo <nil>
	// hi, oslo <nil>
	// ValueError: name must not be empty
	// TypeError: Greeter.hello() missing 1 required positional argument: 'name'
	// TypeError: Greeter.hello() got an unexpected keyword argument 'nmae'
}

// Auditor handles info notifications and requeues those it cannot handle yet.
type Auditor struct{}

// Info handles info notifications; other priorities are not subscribed to.
func (a *Auditor) Info(ctx context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	var p struct {
		InstanceID string `json:"instance_id"`
	}
	if err := n.DecodePayload(&p); err != nil {
		return sdk.Handled, err // an error requeues (and is logged)
	}
	if p.InstanceID == "" {
		return sdk.Requeue, nil
	}
	fmt.Println(n.EventType, p.InstanceID)
	return sdk.Handled, nil
}

// A plugin handling notifications registers its handler next to its endpoints:
//
//	func main() {
//		sdk.ServeAll(
//			sdk.Endpoint{Version: "1.0", Impl: &Greeter{}},
//			sdk.Notifications{Name: "audit", Impl: &Auditor{}},
//		)
//	}
//
// Here sdktest delivers notifications in-process instead.
func Example_notifications() {
	h, err := sdktest.Start(sdk.StaticAll(
		sdk.Endpoint{Version: "1.0", Impl: &Greeter{}},
		sdk.Notifications{Name: "audit", Impl: &Auditor{}},
	))
	if err != nil {
		panic(err)
	}
	defer h.Stop()

	hs, _ := h.NotificationHandlers()
	fmt.Println(hs[0].Name, hs[0].Priorities)

	results, err := h.Notify(context.Background(), "audit",
		sdk.Notification{Priority: "info", EventType: "compute.instance.create.end", Payload: []byte(`{"instance_id":"i-1"}`)},
		sdk.Notification{Priority: "info", EventType: "compute.instance.create.end", Payload: []byte(`{}`)},
	)
	fmt.Println(results, err)
	// Output:
	// audit [info]
	// compute.instance.create.end i-1
	// [handled requeue] <nil>
}
