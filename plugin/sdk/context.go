package sdk

import (
	"context"
	"maps"

	"github.com/hashicorp/go-hclog"
)

// Call describes the call being served. Obtain it with [CallInfo].
type Call struct {
	// PluginName is the plugin's name in the host configuration.
	PluginName string
	// Namespace and Version are those of the endpoint serving the call.
	Namespace string
	Version   string
	// Method is the RPC (snake_case) method name.
	Method string
	// MsgID is the oslo message id of a call; "" for a cast.
	MsgID string
	// RequestNamespace and RequestVersion are what the caller sent ("" when
	// absent); the host routed the call to this endpoint by them.
	RequestNamespace string
	RequestVersion   string
}

type callKey struct{}

type callState struct {
	info   Call
	reqCtx map[string]any
	logger hclog.Logger
}

type loggerKey struct{}

func withCall(ctx context.Context, cs *callState) context.Context {
	return context.WithValue(ctx, callKey{}, cs)
}

func withLogger(ctx context.Context, l hclog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func callFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

// CallInfo returns the call served under ctx, and false outside a call.
func CallInfo(ctx context.Context) (Call, bool) {
	cs := callFrom(ctx)
	if cs == nil {
		return Call{}, false
	}
	return cs.info, true
}

// RequestContext returns the oslo request context of the call served under
// ctx: the caller's context dict (user_id, project_id, request_id, ...; keys
// are carried through untouched) plus client_timeout, as a Python endpoint
// receives it as ctxt. Numbers are json.Number. It returns a new shallow copy
// on each call, nil outside a call. Treat auth_token as a secret.
func RequestContext(ctx context.Context) map[string]any {
	cs := callFrom(ctx)
	if cs == nil {
		return nil
	}
	return maps.Clone(cs.reqCtx)
}

// Logger returns the logger for ctx: inside a call, [Log] with the method,
// msg_id and request_id attached; inside a hook, [Log]; otherwise [Log].
func Logger(ctx context.Context) hclog.Logger {
	if cs := callFrom(ctx); cs != nil {
		return cs.logger
	}
	if l, ok := ctx.Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return Log()
}
