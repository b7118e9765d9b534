package sdk

import (
	"context"
	"encoding/json"
	"maps"

	"github.com/oslohost/oslohost/internal/pyjson"
)

// Serializer converts what crosses the wire to and from what a plugin's
// methods see, as oslo.messaging's Serializer does for a Python server and
// client (serialize_entity, deserialize_entity, serialize_context,
// deserialize_context). Set on an [Endpoint] (or [Notifications]), it
// applies to the calls the endpoint serves: to their arguments, request
// context and result, and to the outgoing calls, casts and notifications
// the plugin makes through [Host] while serving them. Package ovo has one
// for oslo.versionedobjects.
//
// A Serializer is called concurrently and must be safe for it. An error it
// returns fails the call as a method's error would (a [RemoteError] keeps
// its class).
type Serializer interface {
	// SerializeEntity returns what encoding/json encodes for v: a method's
	// result, or the arguments of an outgoing call or cast.
	SerializeEntity(ctx context.Context, v any) (any, error)
	// DeserializeEntity returns the JSON a method's arguments (the keyword
	// argument object) or an outgoing call's result are decoded from,
	// given what arrived.
	DeserializeEntity(ctx context.Context, raw json.RawMessage) (json.RawMessage, error)
	// SerializeContext returns the request context sent with an outgoing
	// call, cast or notification.
	SerializeContext(ctx context.Context, reqCtx map[string]any) (map[string]any, error)
	// DeserializeContext returns the request context a method sees
	// ([RequestContext]), given the one that arrived.
	DeserializeContext(ctx context.Context, reqCtx map[string]any) (map[string]any, error)
}

// NoOpSerializer leaves everything as it is (oslo's NoOpSerializer). Embed
// it in a Serializer that changes only some of the four.
type NoOpSerializer struct{}

var _ Serializer = NoOpSerializer{}

// SerializeEntity returns v.
func (NoOpSerializer) SerializeEntity(_ context.Context, v any) (any, error) { return v, nil }

// DeserializeEntity returns raw.
func (NoOpSerializer) DeserializeEntity(_ context.Context, raw json.RawMessage) (json.RawMessage, error) {
	return raw, nil
}

// SerializeContext returns reqCtx.
func (NoOpSerializer) SerializeContext(_ context.Context, reqCtx map[string]any) (map[string]any, error) {
	return reqCtx, nil
}

// DeserializeContext returns reqCtx.
func (NoOpSerializer) DeserializeContext(_ context.Context, reqCtx map[string]any) (map[string]any, error) {
	return reqCtx, nil
}

// WithSerializer makes one outgoing call or cast use ser instead of the
// serializer of the call being served ([NoOpSerializer] for none).
func WithSerializer(ser Serializer) CallOption {
	return func(o *callOptions) { o.ser, o.haveSer = ser, true }
}

// serializerOf is the serializer an outgoing request made under ctx uses.
func serializerOf(ctx context.Context, o callOptions) Serializer {
	if o.haveSer {
		return o.ser
	}
	if cs := callFrom(ctx); cs != nil {
		return cs.ser
	}
	ser, _ := ctx.Value(serializerKey{}).(Serializer)
	return ser
}

// serializerKey carries a notification handler's serializer.
type serializerKey struct{}

// deserializeCall applies the endpoint's serializer to a call's request
// context (stored in cs) and arguments, before the method runs: the single
// point where incoming calls meet a Serializer.
func deserializeCall(ctx context.Context, argsJSON []byte) ([]byte, error) {
	cs := callFrom(ctx)
	if cs == nil || cs.ser == nil {
		return argsJSON, nil
	}
	rc, err := cs.ser.DeserializeContext(ctx, maps.Clone(cs.requestContext()))
	if err != nil {
		return nil, err
	}
	cs.reqCtx = rc
	if cs.reqCtx == nil {
		cs.reqCtx = map[string]any{}
	}
	return cs.ser.DeserializeEntity(ctx, argsJSON)
}

// deserializeNotification applies a handler's serializer to n's payload
// and context.
func deserializeNotification(ctx context.Context, ser Serializer, n Notification) (Notification, error) {
	rc, err := ser.DeserializeContext(ctx, n.Context)
	if err != nil {
		return n, err
	}
	if rc == nil {
		rc = map[string]any{}
	}
	n.Context = rc
	if n.Payload, err = ser.DeserializeEntity(ctx, n.Payload); err != nil {
		return n, err
	}
	return n, nil
}

// serializeResult encodes a method's result, through the call's serializer
// if any; the single point where results meet a Serializer.
func serializeResult(ctx context.Context, name string, v any) ([]byte, error) {
	if cs := callFrom(ctx); cs != nil && cs.ser != nil {
		sv, err := cs.ser.SerializeEntity(ctx, v)
		if err != nil {
			return nil, err
		}
		v = sv
	}
	b, err := pyjson.Marshal(v)
	if err != nil {
		return nil, TypeError("%s() result is not JSON serializable: %v", name, err)
	}
	return b, nil
}
