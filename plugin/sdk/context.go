package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"sync"

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

// callState is what a call's context carries. The request context is
// decoded, and the call's logger made, only when the method asks for them:
// most calls never do, and both cost more than many a method.
type callState struct {
	info    Call
	ctxJSON []byte       // the request context object; nil for none
	base    hclog.Logger // the plugin's logger
	ser     Serializer   // the endpoint's; nil for none

	ctxOnce sync.Once
	reqCtx  map[string]any
	logOnce sync.Once
	logger  hclog.Logger
}

// requestContext returns the decoded request context (not a copy).
func (cs *callState) requestContext() map[string]any {
	cs.ctxOnce.Do(func() {
		cs.reqCtx = map[string]any{}
		if len(cs.ctxJSON) > 0 {
			dec := json.NewDecoder(bytes.NewReader(cs.ctxJSON))
			dec.UseNumber()
			_ = dec.Decode(&cs.reqCtx) // checked to be a JSON object by Invoke
		}
	})
	return cs.reqCtx
}

// log returns the call's logger: the plugin's with method, msg_id and
// request_id attached.
func (cs *callState) log() hclog.Logger {
	cs.logOnce.Do(func() {
		kv := []any{"method", cs.info.Method}
		if cs.info.MsgID != "" {
			kv = append(kv, "msg_id", cs.info.MsgID)
		}
		if rid, ok := cs.requestContext()["request_id"].(string); ok && rid != "" {
			kv = append(kv, "request_id", rid)
		}
		cs.logger = cs.base.With(kv...)
	})
	return cs.logger
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
	return maps.Clone(cs.requestContext())
}

// Logger returns the logger for ctx: inside a call, [Log] with the method,
// msg_id and request_id attached; inside a hook, [Log]; otherwise [Log].
func Logger(ctx context.Context) hclog.Logger {
	if cs := callFrom(ctx); cs != nil {
		return cs.log()
	}
	if l, ok := ctx.Value(loggerKey{}).(hclog.Logger); ok {
		return l
	}
	return Log()
}
