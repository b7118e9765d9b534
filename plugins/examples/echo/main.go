// Command echo is an oslohost plugin that sends back what it receives: a
// value, all keyword arguments, or the oslo request context. It is handy for
// checking what a caller really sends, and for interop tests.
//
//	client.call(ctxt, "echo", value={"a": [1, 2.5, None]})  # {"a": [1, 2.5, None]}
//	client.call(ctxt, "echo_kwargs", a=1, b="x")           # {"a": 1, "b": "x"}
//	client.call(ctxt, "echo_context")                      # ctxt.to_dict() + client_timeout
//	client.call(ctxt, "raise_error", exc_class="KeyError") # raises KeyError
package main

import (
	"context"
	"encoding/json"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// Echo is the endpoint. It has no state, so it is safe for concurrent use.
type Echo struct{}

// EchoArgs are the keyword arguments of echo: def echo(self, ctxt,
// value=None). omitempty makes value optional; a json.RawMessage keeps it
// exactly as sent (any typed field would keep its numbers exact too).
type EchoArgs struct {
	Value json.RawMessage `json:"value,omitempty"`
}

// Echo returns value unchanged (None when it is missing).
func (Echo) Echo(ctx context.Context, args EchoArgs) (json.RawMessage, error) {
	if args.Value == nil {
		return json.RawMessage("null"), nil
	}
	return args.Value, nil
}

// EchoKwargs returns all its keyword arguments as a dict. A map takes every
// key; its numbers arrive as json.Number, so they keep their precision too.
func (Echo) EchoKwargs(ctx context.Context, kwargs map[string]any) (map[string]any, error) {
	return kwargs, nil
}

// EchoContext returns the oslo request context the call carried (the
// caller's ctxt dict plus client_timeout), as a Python endpoint sees ctxt.
func (Echo) EchoContext(ctx context.Context) (map[string]any, error) {
	return sdk.RequestContext(ctx), nil
}

// RaiseErrorArgs are the keyword arguments of raise_error, all optional
// (omitempty).
type RaiseErrorArgs struct {
	Module  string `json:"exc_module,omitempty"` // default "builtins"
	Class   string `json:"exc_class,omitempty"`  // default "ValueError"
	Message string `json:"message,omitempty"`
}

// RaiseError raises the exception it is asked for, so that a caller can see
// how remote errors reach it. A Python caller rebuilds builtin classes; other
// classes only when their module is in its allowed_remote_exmods, otherwise
// it raises oslo_messaging.RemoteError naming the class.
func (Echo) RaiseError(ctx context.Context, args RaiseErrorArgs) error {
	if args.Module == "" {
		args.Module = sdk.ModuleBuiltins
	}
	if args.Class == "" {
		args.Class = "ValueError"
	}
	// Expected: the host does not log this failure, the caller asked for it.
	return sdk.Expected(sdk.NewRemoteError(args.Module, args.Class, "%s", args.Message))
}

func main() {
	sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: Echo{}})
}
