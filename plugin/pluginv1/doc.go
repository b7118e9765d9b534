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
// notification handlers), Invoke and Notify any number of times
// concurrently, Close before the process is stopped. Errors raised by plugin
// methods travel as a [Failure] inside [InvokeResponse]; a gRPC error from
// Invoke means the call could not be made at all. Notify returns one
// [NotifyResult] per notification, HANDLED (ack) or REQUEUE (reject for
// redelivery); a gRPC error from Notify means none was handled.
//
// The host's [Endpoint] makes Invoke calls over one long-lived InvokeStream
// (invoke_stream.go), which costs far less per call than a unary RPC each,
// and falls back to unary Invoke for a plugin built before InvokeStream
// existed, or when [EnvUnary] is set.
//
// Regenerate the code with `make proto` (recipe in proto.mk).
package pluginv1
