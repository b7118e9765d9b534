// Package sdktest calls an oslohost plugin's endpoints and notification
// handlers in-process from a Go test, through the real protocol: the SDK's server behind a gRPC server on
// an in-memory connection, with the same message size cap as a real plugin.
//
//	func TestHello(t *testing.T) {
//		h := sdktest.New(t, sdk.Endpoint{Version: "1.0", Impl: &Greeter{}})
//		var got string
//		if err := h.Call(context.Background(), "hello", map[string]any{"name": "oslo"}, &got); err != nil {
//			t.Fatal(err)
//		}
//	}
//
// Calls are routed as oslo.messaging routes them (namespace, version
// compatibility, first endpoint having the method), and a method's error
// comes back as a *sdk.RemoteError with the class and module a Python caller
// would see.
//
// [Harness.Notify] delivers notifications to a handler as a host's listener
// does and returns one sdk.Handled or sdk.Requeue per notification:
//
//	h := sdktest.NewPlugin(t, sdk.StaticAll(sdk.Notifications{Name: "audit", Impl: &Auditor{}}))
//	res, err := h.Notify(ctx, "audit", sdk.Notification{Priority: "info", EventType: "compute.instance.create.end"})
package sdktest
