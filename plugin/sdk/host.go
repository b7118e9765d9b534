package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oslohost/oslohost/internal/pyjson"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNoHost is returned by [Host] when the plugin cannot reach the host's
// Host service: outside a served call, notification or hook, or when the
// host offers none (an older host, oslohost validate, or an sdktest
// harness without sdktest.WithHost).
var ErrNoHost = errors.New("sdk: no host service")

// Target names the oslo.messaging server(s) a call or cast goes to, as
// oslo_messaging.Target does.
type Target struct {
	// Exchange overrides the host's control exchange; "" uses it.
	Exchange string
	// Topic is required.
	Topic string
	// Server targets one server of the topic.
	Server string
	// Namespace is the endpoint namespace; "" is the default (null) one.
	Namespace string
	// Version is the requested API version ("" sends none).
	Version string
	// Fanout makes a cast reach every server of the topic (casts only).
	Fanout bool
}

// CallOption adjusts one [HostClient.Call] or [HostClient.Cast].
type CallOption func(*callOptions)

type callOptions struct {
	timeout     time.Duration
	monitor     time.Duration
	reqCtx      map[string]any
	haveContext bool
	ser         Serializer
	haveSer     bool
}

// Timeout bounds a call (the wait for the reply included); 0 or none means
// the host's default (60s, oslo's rpc_response_timeout), further bounded by
// the context's deadline. For a cast it bounds waiting for the broker.
func Timeout(d time.Duration) CallOption { return func(o *callOptions) { o.timeout = d } }

// CallMonitorTimeout sets oslo's call_monitor_timeout: the call fails when
// no heartbeat arrives within d (servers heartbeat while they work).
func CallMonitorTimeout(d time.Duration) CallOption {
	return func(o *callOptions) { o.monitor = d }
}

// WithRequestContext sends reqCtx as the oslo request context (nil for
// none). Without it a call or cast made while serving a call forwards that
// call's request context ([RequestContext]); otherwise it sends none.
func WithRequestContext(reqCtx map[string]any) CallOption {
	return func(o *callOptions) { o.reqCtx, o.haveContext = reqCtx, true }
}

// OutgoingNotification is a notification a plugin sends through the host
// with [HostClient.Notify], as oslo_messaging.Notifier would.
type OutgoingNotification struct {
	// PublisherID is e.g. "compute.host1".
	PublisherID string
	// Topics to send to, each getting its own copy; nil means ["notifications"].
	Topics []string
	// Priority is one of audit, debug, info, warn (warning), error,
	// critical, sample, in any case; "" means info.
	Priority string
	// EventType is e.g. "compute.instance.create.end".
	EventType string
	// Payload is anything encoding/json can encode (a json.RawMessage as is).
	Payload any
	// Context is the request context; nil forwards the served call's
	// request context, if any (only the keys oslo whitelists for
	// notifications are sent).
	Context map[string]any
}

// HostClient makes outgoing oslo.messaging calls, casts and notifications
// through the host, over its broker connection: the plugin needs no broker
// credentials. Obtain it with [Host]. It is safe for concurrent use.
type HostClient struct {
	c pluginv1.HostClient
}

// Host returns the client of the host's Host service. It is available in
// RPC methods, notification handlers and hooks, and in goroutines they start
// with a context derived from theirs; otherwise it returns [ErrNoHost].
//
// The host connects to the broker after every plugin has started, and a
// request made before waits for that (bounded by its context): do not wait
// for the result of a call made from a Configure hook.
func Host(ctx context.Context) (*HostClient, error) {
	s, _ := ctx.Value(hostKey{}).(*server)
	if s == nil {
		return nil, ErrNoHost
	}
	hc := s.host.Load()
	if hc == nil {
		return nil, ErrNoHost
	}
	return hc, nil
}

type hostKey struct{}

func (s *server) withHost(ctx context.Context) context.Context {
	return context.WithValue(ctx, hostKey{}, s)
}

// Call calls method on the servers of target with args (encoded with
// encoding/json to a JSON object, the keyword arguments; nil sends {}) and
// decodes the result into result with encoding/json (nil discards it; a
// *json.RawMessage receives it raw). An exception raised by the server is
// returned as a *[RemoteError] carrying its module, class, message, args,
// kwargs and traceback: a method returning it passes the same failure on to
// its own caller. A timeout is an error wrapping
// [context.DeadlineExceeded]; other errors are gRPC status errors.
func (h *HostClient) Call(ctx context.Context, target Target, method string, args any, result any, opts ...CallOption) (err error) {
	ctx, span := tracing.StartOutgoing(ctx, "call", method, target.Exchange, target.Topic, target.Server) // only under a span
	defer func() { span.End(err) }()
	o := applyCallOptions(opts)
	argsJSON, ctxJSON, err := encodeRequest(ctx, o, args)
	if err != nil {
		return err
	}
	resp, err := h.c.Call(ctx, &pluginv1.HostCallRequest{
		Target: targetProto(target), Method: method, ArgsJson: argsJSON, ContextJson: ctxJSON,
		TimeoutMs: o.timeout.Milliseconds(), CallMonitorTimeoutMs: o.monitor.Milliseconds(),
		Traceparent: tracing.Traceparent(ctx),
	})
	if err != nil {
		return hostError("call "+method, err)
	}
	if f := resp.GetFailure(); f != nil {
		return remoteFromFailure(f)
	}
	if result == nil {
		return nil
	}
	raw := resp.GetResultJson()
	if len(raw) == 0 {
		raw = []byte("null")
	}
	if ser := serializerOf(ctx, o); ser != nil {
		if raw, err = ser.DeserializeEntity(ctx, raw); err != nil {
			return fmt.Errorf("call %s: deserialize result: %w", method, err)
		}
	}
	if rm, ok := result.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(result); err != nil {
		return fmt.Errorf("call %s: decode result: %w", method, err)
	}
	return nil
}

// Cast sends method with args to the servers of target (all of them with
// Fanout) and returns once the broker accepted it; no reply comes back.
// Errors are as for [HostClient.Call], without remote errors.
func (h *HostClient) Cast(ctx context.Context, target Target, method string, args any, opts ...CallOption) (err error) {
	ctx, span := tracing.StartOutgoing(ctx, "cast", method, target.Exchange, target.Topic, target.Server) // only under a span
	defer func() { span.End(err) }()
	o := applyCallOptions(opts)
	argsJSON, ctxJSON, err := encodeRequest(ctx, o, args)
	if err != nil {
		return err
	}
	_, err = h.c.Cast(ctx, &pluginv1.HostCastRequest{
		Target: targetProto(target), Method: method, ArgsJson: argsJSON, ContextJson: ctxJSON,
		TimeoutMs:   o.timeout.Milliseconds(),
		Traceparent: tracing.Traceparent(ctx),
	})
	if err != nil {
		return hostError("cast "+method, err)
	}
	return nil
}

// Notify sends n to every topic in the messagingv2 format and returns once
// the broker accepted each copy.
func (h *HostClient) Notify(ctx context.Context, n OutgoingNotification) (err error) {
	ctx, span := tracing.StartOutgoing(ctx, "notify", n.EventType, "", "", "") // only under a span
	defer func() { span.End(err) }()
	ser := serializerOf(ctx, callOptions{})
	if ser != nil && n.Payload != nil {
		p, err := ser.SerializeEntity(ctx, n.Payload)
		if err != nil {
			return fmt.Errorf("notify %s: payload: %w", n.EventType, err)
		}
		n.Payload = p
	}
	payload, err := pyjson.Marshal(n.Payload)
	if raw, ok := n.Payload.(json.RawMessage); ok && len(raw) > 0 {
		payload, err = raw, nil
	}
	if err != nil {
		return fmt.Errorf("notify %s: payload: %w", n.EventType, err)
	}
	reqCtx := n.Context
	if reqCtx == nil {
		reqCtx = RequestContext(ctx)
	}
	if ser != nil && reqCtx != nil {
		if reqCtx, err = ser.SerializeContext(ctx, reqCtx); err != nil {
			return fmt.Errorf("notify %s: request context: %w", n.EventType, err)
		}
	}
	ctxJSON, err := encodeContext(reqCtx)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.EventType, err)
	}
	priority := n.Priority
	if priority == "" {
		priority = "info"
	}
	_, err = h.c.Notify(ctx, &pluginv1.HostNotifyRequest{
		PublisherId: n.PublisherID, Topics: n.Topics, Priority: priority,
		EventType: n.EventType, PayloadJson: payload, ContextJson: ctxJSON,
		Traceparent: tracing.Traceparent(ctx),
	})
	if err != nil {
		return hostError("notify "+n.EventType, err)
	}
	return nil
}

func applyCallOptions(opts []CallOption) callOptions {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func encodeRequest(ctx context.Context, o callOptions, args any) (argsJSON, ctxJSON []byte, err error) {
	ser := serializerOf(ctx, o)
	if ser != nil && args != nil {
		if args, err = ser.SerializeEntity(ctx, args); err != nil {
			return nil, nil, fmt.Errorf("args: %w", err)
		}
	}
	if args != nil {
		if argsJSON, err = pyjson.Marshal(args); err != nil {
			return nil, nil, fmt.Errorf("args: %w", err)
		}
		if s := strings.TrimSpace(string(argsJSON)); s == "null" {
			argsJSON = nil
		} else if !strings.HasPrefix(s, "{") {
			return nil, nil, fmt.Errorf("args: must encode to a JSON object, got %.20s", s)
		}
	}
	reqCtx := o.reqCtx
	if !o.haveContext {
		reqCtx = RequestContext(ctx)
	}
	if ser != nil && reqCtx != nil {
		if reqCtx, err = ser.SerializeContext(ctx, reqCtx); err != nil {
			return nil, nil, fmt.Errorf("request context: %w", err)
		}
	}
	if ctxJSON, err = encodeContext(reqCtx); err != nil {
		return nil, nil, err
	}
	return argsJSON, ctxJSON, nil
}

func encodeContext(reqCtx map[string]any) ([]byte, error) {
	if reqCtx == nil {
		return nil, nil
	}
	b, err := pyjson.Marshal(reqCtx)
	if err != nil {
		return nil, fmt.Errorf("request context: %w", err)
	}
	return b, nil
}

func targetProto(t Target) *pluginv1.HostTarget {
	return &pluginv1.HostTarget{
		Exchange: t.Exchange, Topic: t.Topic, Server: t.Server,
		Namespace: t.Namespace, Version: t.Version, Fanout: t.Fanout,
	}
}

// remoteFromFailure is the *RemoteError of a failure the host relayed.
func remoteFromFailure(f *pluginv1.Failure) *RemoteError { return RemoteErrorOf(f.Oslo()) }

// ErrUndeliverable is wrapped by the error of a call or cast no server
// could receive (no queue bound to the target), reported by the host.
var ErrUndeliverable = errors.New("sdk: message undeliverable")

// hostError wraps a Host service error: a timeout wraps
// context.DeadlineExceeded, an undeliverable message [ErrUndeliverable],
// both keeping the gRPC status.
func hostError(op string, err error) error {
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w (%w)", op, context.DeadlineExceeded, err)
	case codes.NotFound:
		return fmt.Errorf("%s: %w (%w)", op, ErrUndeliverable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
