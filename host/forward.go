package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/oslohost/oslohost/host/internal/supervisor"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/server"
)

// Failure classes the host itself sends (module "oslohost"); Python callers
// see them as RemoteError with that exc_type.
const (
	// ClassPluginUnavailable: the plugin could not be reached (not running,
	// crashed, or its connection broke) so the call was not made or its
	// outcome is unknown.
	ClassPluginUnavailable = "PluginUnavailable"
	// ClassPluginTimeout: the plugin did not answer within the call's
	// deadline (the caller's timeout or the server's call_timeout).
	ClassPluginTimeout = "PluginTimeout"
	// ClassPluginCrashed: the plugin process died while it handled the
	// call. The call is not retried (oslo RPC is at-most-once); the plugin
	// is restarted.
	ClassPluginCrashed = "PluginCrashed"
)

// forwarder is the server.Handler of one plugin method: it forwards the
// call to the plugin with the caller's deadline and turns the outcome into a
// result or a failure that keeps the exception's class and module.
type forwarder struct {
	plugin    *supervisor.Plugin
	namespace string // the endpoint's, as described
	version   string
	method    string
	timeout   time.Duration // the server's call_timeout, 0 for none
}

var _ server.Handler = (*forwarder)(nil)

func (f *forwarder) ServeRPC(ctx context.Context, call *server.Call) (res json.RawMessage, err error) {
	ctx, span := tracing.StartPluginCall(ctx, "invoke", f.plugin.Name(), f.method) // nothing when tracing is off
	defer func() { span.End(err) }()
	if f.timeout > 0 { // the earlier of the caller's deadline and call_timeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	rctx, err := call.Context.MarshalJSON() // not json.Marshal: it would scan the result again
	if err != nil {
		return nil, fmt.Errorf("encode request context: %w", err)
	}
	req := &pluginv1.InvokeRequest{
		Namespace: f.namespace, Version: f.version, Method: f.method,
		ContextJson: rctx, ArgsJson: call.Args, MsgId: call.MsgID,
		RequestNamespace: call.Namespace, RequestVersion: call.Version,
		Traceparent: tracing.Traceparent(ctx),
	}
	if d, ok := ctx.Deadline(); ok {
		req.SetDeadline(d)
	}
	// A call whose caller watches it with a call monitor waits as long
	// as heartbeats come, deadline or not.
	monitored := !call.IsCast() && len(call.Context["client_timeout"]) > 0 && string(call.Context["client_timeout"]) != "null"
	pc, err := f.plugin.Begin(ctx, monitored)
	if err != nil {
		return nil, oslo.NewFailure(server.ModuleHost, ClassPluginUnavailable,
			fmt.Sprintf("plugin %q is unavailable: %v", f.plugin.Name(), err))
	}
	defer pc.End()
	ctx = pc.Context()
	resp, err := pc.Endpoint().Invoke(ctx, req)
	if err != nil {
		return nil, f.invokeError(ctx, pc, err)
	}
	if fl := resp.GetFailure(); fl != nil {
		return nil, failureFrom(fl)
	}
	res = resp.GetResultJson()
	if len(res) == 0 {
		res = []byte("null")
	}
	return res, nil
}

func (f *forwarder) invokeError(ctx context.Context, pc *supervisor.Call, err error) error {
	code := status.Code(err)
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, supervisor.ErrDrainCut):
		return oslo.NewFailure(server.ModuleHost, ClassPluginTimeout,
			fmt.Sprintf("plugin %q (generation %d, replaced by a swap) did not finish %s within the drain limit", f.plugin.Name(), pc.Generation(), f.method))
	case errors.Is(cause, supervisor.ErrStopCut):
		return oslo.NewFailure(server.ModuleHost, ClassPluginTimeout,
			fmt.Sprintf("plugin %q did not finish %s before it was stopped", f.plugin.Name(), f.method))
	}
	if code == codes.DeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return oslo.NewFailure(server.ModuleHost, ClassPluginTimeout,
			fmt.Sprintf("plugin %q did not answer %s in time", f.plugin.Name(), f.method))
	}
	if code == codes.Unavailable || code == codes.Canceled || code == codes.Internal {
		// A broken connection: did the process die? go-plugin notices the
		// exit a moment after the socket closes.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-pc.Exited():
			return oslo.NewFailure(server.ModuleHost, ClassPluginCrashed,
				fmt.Sprintf("plugin %q (generation %d) crashed while handling %s", f.plugin.Name(), pc.Generation(), f.method))
		case <-t.C:
		}
	}
	return oslo.NewFailure(server.ModuleHost, ClassPluginUnavailable,
		fmt.Sprintf("plugin %q is unavailable: %s", f.plugin.Name(), status.Convert(err).Message()))
}

// expectedFailure marks a failure the plugin declared expected.
type expectedFailure struct{ *oslo.Failure }

func (e expectedFailure) Expected() bool { return true }
func (e expectedFailure) Unwrap() error  { return e.Failure }

func failureFrom(fl *pluginv1.Failure) error {
	f := &oslo.Failure{
		Class: fl.GetClassName(), Module: fl.GetModule(), Message: fl.GetMessage(),
		Traceback: fl.GetTraceback(), Args: fl.GetArgsJson(), Kwargs: fl.GetKwargsJson(),
	}
	if f.Module == "" {
		f.Module = oslo.ModuleBuiltins
	}
	if len(f.Args) == 0 {
		f.Args, _ = json.Marshal([]string{f.Message})
	}
	if len(f.Traceback) == 0 {
		f.Traceback = []string{f.QualifiedClass() + ": " + f.Message + "\n"}
	}
	if fl.GetExpected() {
		return expectedFailure{f}
	}
	return f
}
