// Package pluginv1 is the wire contract between oslohost and its endpoint
// plugins, defined once and imported by both sides: the protocol
// (endpoint.proto and the code generated from it), the go-plugin handshake,
// the plugin set, the gRPC glue and the message size cap.
//
// Plugin authors do not import this package; they use plugin/sdk. The host
// uses [ClientConfig] to launch a plugin and [Dispense] to obtain its
// [Endpoint]; the SDK uses [ServeConfig] to serve one.
//
// The protocol, driven by the host: Configure once (the plugin's config
// block), Describe (readiness, the endpoints to route to and the
// notification handlers), then calls on one long-lived bidirectional Calls
// stream, Close before the process is stopped. The host sends a frame per
// call (an invoke, a notify or a cancel, each with a call id and a
// deadline) and the plugin answers each invoke and notify frame with one
// result of the same id, as soon as it has it, so calls run concurrently
// and in any order. Errors raised by plugin methods travel as a [Failure]
// inside [InvokeResponse]; a [CallError] result means the call could not be
// made at all. A notify frame's result holds one [NotifyResult] per
// notification, HANDLED (ack) or REQUEUE (reject for redelivery); a
// CallError means none was handled. Frames and results go up to the
// connection's message size cap; one over it fails alone.
//
// The host side is the [Endpoint] returned by [NewClient] and [Dispense]
// (calls.go); the plugin side is [ServeCalls] (calls_server.go), which the
// Go SDK uses. The go-plugin handshake's [ProtocolVersion] is 2: a plugin of
// version 1 (unary Invoke and Notify) is refused at the handshake.
//
// Regenerate the code with `make proto` (recipe in proto.mk).
package pluginv1
