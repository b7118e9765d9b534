package server

import (
	"context"
	"encoding/json"

	"github.com/oslohost/oslohost/oslo"
)

// Call is one dispatched request as an endpoint method sees it.
type Call struct {
	Method    string
	Namespace string
	// Version is the requested version ("1.0" when the caller sent none).
	Version string
	// Args is the keyword-argument object.
	Args json.RawMessage
	// Context is the oslo request context plus "client_timeout", as a
	// Python endpoint receives it.
	Context oslo.Context
	// MsgID is the call's id ("" for a cast).
	MsgID string
}

// IsCast reports whether the caller waits for no reply.
func (c *Call) IsCast() bool { return c.MsgID == "" }

// Handler serves one RPC method. It returns the result as JSON, or an
// error: a *oslo.Failure (or an error wrapping one) reaches the caller with
// its class and module; any other error reaches it as builtins.RuntimeError.
// An error with an Expected() bool method returning true is not logged as a
// failure. Handlers must be safe for concurrent use; ctx ends at the
// caller's deadline when it is known and when the server shuts down hard.
type Handler interface {
	ServeRPC(ctx context.Context, call *Call) (json.RawMessage, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, call *Call) (json.RawMessage, error)

// ServeRPC calls f.
func (f HandlerFunc) ServeRPC(ctx context.Context, call *Call) (json.RawMessage, error) {
	return f(ctx, call)
}
