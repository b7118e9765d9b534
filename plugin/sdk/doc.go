// Package sdk is all a plugin author imports to serve oslo.messaging RPC
// endpoints and handle oslo.messaging notifications from an oslohost plugin.
//
// A plugin is a struct whose methods are RPC methods, and a main that calls
// [Serve]:
//
//	type Greeter struct{}
//
//	type HelloArgs struct {
//		Name string `json:"name"`
//	}
//
//	func (g *Greeter) Hello(ctx context.Context, a HelloArgs) (string, error) {
//		if a.Name == "" {
//			return "", sdk.ValueError("name is empty")
//		}
//		return "hello, " + a.Name, nil
//	}
//
//	func main() {
//		sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: &Greeter{}})
//	}
//
// A Python caller reaches it with client.call(ctxt, "hello", name="oslo").
// See [Endpoint] for the method shapes, argument decoding and naming rules.
//
// # Arguments and results
//
// The fields of a method's argument struct are its keyword arguments,
// checked as Python checks them, with Python's messages (the class in them
// is the Impl's Go type name, as Python names the endpoint's class):
//
//	type AddArgs struct {
//		Increment int     `json:"increment"`            // required: def add(self, ctxt, increment, ...
//		Step      int     `json:"step,omitempty"`       // optional: step=0 (its zero value) when left out
//		Label     *string `json:"label,omitempty"`      // optional: nil tells "left out" from ""
//	}
//
//	add(increment=1, bogus=2)  # TypeError: Calc.add() got an unexpected keyword argument 'bogus'
//	add()                      # TypeError: Calc.add() missing 1 required positional argument: 'increment'
//
// The one convention: a field is required unless its json tag says
// omitempty (or omitzero). A pointer tells None (nil) from a zero value,
// and for an optional field also "left out" (nil) from a zero value. Names are matched exactly (Python is
// case-sensitive); embedded structs contribute their fields as in
// encoding/json. An unexpected keyword is reported before missing ones, as
// in Python; missing ones are listed in declaration order. A map argument
// takes any keywords, like **kwargs; a method without an argument takes
// none.
//
// Numbers are exact both ways. An integer type (int64, uint64, *big.Int for
// larger ones) keeps every digit; a float type is a Python float and goes
// back as one: a float64 1.0 is sent as 1.0, as Python's json.dumps writes
// it, and an int as 1. Numbers in untyped places (any, map[string]any) are
// json.Number: they go back exactly as they came, 1.0 as 1.0 and
// 2**70 as 1180591620717411303424. json.Number is also the type for a
// parameter that may be either and must go back as sent.
//
// # Errors
//
// A method's error reaches the caller as a Python exception. A [RemoteError]
// (from [ValueError], [TypeError], [KeyError], [RuntimeError],
// [NewRemoteError] or a literal), also wrapped, keeps its module, class,
// message, args and kwargs. context.DeadlineExceeded becomes
// builtins.TimeoutError; any other error becomes builtins.RuntimeError with
// the error's text. Bad arguments become builtins.TypeError, as a Python
// method would raise for bad keyword arguments (see above). A panic in a method is
// recovered and becomes builtins.RuntimeError "plugin panic: <value>"; the
// plugin keeps serving. Failures carry a short Python-style traceback of the
// Go frames. [Expected] marks an error the host should not log as a failure
// (oslo's expected_exceptions).
//
// # Calls
//
// Each call runs in its own goroutine with a ctx that ends at the caller's
// deadline or when the host abandons the call. [RequestContext] gives the
// oslo request context, [CallInfo] the endpoint, method and message id,
// [Logger] a logger tagged with them.
//
// # Serializers, versioned objects and the typed context
//
// An [Endpoint] or [Notifications] with a [Serializer] sees its arguments,
// request context and results through it, and so do the outgoing calls it
// makes through [Host], as oslo.messaging's serializers do. Package ovo
// declares Go structs as oslo.versionedobjects objects and has the
// serializer Nova, Cinder and the other OpenStack services need:
//
//	var objects = ovo.NewRegistry("nova_object", ovo.Object[Instance]("Instance", "nova", "2.7"))
//
//	sdk.Serve(sdk.Endpoint{Version: "6.1", Impl: &Compute{},
//		Serializer: &ovo.Serializer{Registry: objects}})
//
// Package osloctx reads the request context as a typed oslo.context
// RequestContext. plugins/examples/compute shows both with Nova's objects.
//
// # Notifications
//
// A notification handler is a struct whose methods are named after the
// priorities they handle, registered as [Notifications] next to the
// endpoints with [ServeAll]:
//
//	type Auditor struct{}
//
//	func (a *Auditor) Info(ctx context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
//		var p struct {
//			InstanceID string `json:"instance_id"`
//		}
//		if err := n.DecodePayload(&p); err != nil {
//			return sdk.Handled, err // an error requeues
//		}
//		if !ready() {
//			return sdk.Requeue, nil // delivered again later
//		}
//		sdk.Logger(ctx).Info("instance event", "event_type", n.EventType, "instance_id", p.InstanceID)
//		return sdk.Handled, nil
//	}
//
//	func (a *Auditor) Error(ctx context.Context, n sdk.Notification) error { ... }
//
//	func main() {
//		sdk.ServeAll(
//			sdk.Endpoint{Version: "1.0", Impl: &Greeter{}},
//			sdk.Notifications{Name: "audit", Impl: &Auditor{}},
//		)
//	}
//
// A listener of the host names the handler ("audit") and subscribes to the
// priorities it has methods for, as oslo.messaging's listener does for an
// endpoint with methods info and error. Notify(ctx, n) catches every other
// priority; InfoBatch(ctx, ns) and NotifyBatch(ctx, ns) take batches. See
// [Notifications] for the method shapes. The host acknowledges a
// notification once the method has returned [Handled]; [Requeue], an error
// or a panic make the host deliver it again, up to its configured bound.
// One struct may be both an [Endpoint]'s and a handler's Impl.
//
// # Lifecycle
//
// The host configures a plugin once, then asks for its endpoints and
// handlers, then calls methods and hands over notifications, then closes
// it. An Impl implementing [Configurer] receives the plugin's config block
// ([Config.Decode]) before any call; one implementing [Closer] is closed
// when the host stops the plugin. A plugin
// whose endpoints depend on its configuration implements [Plugin] (or uses
// [PluginFunc]) and calls [ServePlugin]; one whose notification handlers do
// implements [NotificationPlugin].
//
// # Logging and output
//
// [Log] and [Logger] write hclog JSON lines to stderr; the host re-emits them
// under the plugin's name. Stdout belongs to the go-plugin handshake: do not
// write to it (what is written after the handshake is re-logged by the host).
//
// # Tracing
//
// Tracing needs nothing from a plugin author. When the host traces (its
// configuration has a telemetry block) it hands the plugin its OTLP
// settings at Configure, and the SDK exports the plugin's spans itself to
// the same endpoint, as service "<host service>.<plugin>". Each call runs
// under a span of the SDK's ("plugin.handle <method>"), a child of the
// host's, and so of the Python caller's osprofiler trace when there is one:
// a method gets it with the standard API, trace.SpanFromContext(ctx), and
// starts its own under it with any OpenTelemetry tracer (otel.Tracer uses
// the provider the SDK installed). Calls, casts and notifications made
// through [Host] carry the trace on, to the host and from there to the next
// Python service (as osprofiler's trace_info). Without a telemetry block in
// the host no span is made.
//
// # Testing
//
// Package sdktest calls a plugin's endpoints and notification handlers
// in-process through the real protocol, from an ordinary Go test.
package sdk
