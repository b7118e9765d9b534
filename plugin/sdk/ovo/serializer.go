package ovo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// Serializer is the [sdk.Serializer] for versioned objects, as
// oslo.versionedobjects' VersionedObjectSerializer (Nova's
// NovaObjectSerializer) is for a Python service: arguments holding object
// primitives decode into the declared structs, results holding declared
// objects go back as primitives, at the versions the caller can read.
//
//	ser := &ovo.Serializer{Registry: objects, Backport: sdk.Target{Topic: "conductor", Version: "3.0"}}
//	sdk.Serve(sdk.Endpoint{Version: "6.1", Impl: &Compute{}, Serializer: ser})
//
// Versions: an object goes back at no newer version than it arrived with,
// and, for a call requesting an API version older than a [Pin]'s Below, at
// no newer version than the pin names (the oslo obj_make_compatible step
// drops the fields added since, see [Object] and [Compatibler]).
//
// An incoming object newer than its declaration is backported through the
// host: object_backport_versions, with the registry's [Registry.Manifest],
// is called on the Backport target (Nova's and oslo's conductor API). With
// no Backport topic the call fails with IncompatibleObjectVersion, as a
// Python service without an indirection API does.
//
// The request context is left as it is (see package osloctx for a typed
// one). A Serializer must not be changed once in use; it is safe for
// concurrent use.
type Serializer struct {
	Registry *Registry
	// Pins cap object versions for callers of older API versions.
	Pins []Pin
	// Backport is the conductor's target for object_backport_versions; no
	// Topic means no backports.
	Backport sdk.Target
}

var _ sdk.Serializer = (*Serializer)(nil)

// Pin caps the versions of objects sent to callers that request an API
// version older than Below: each object named in Objects is sent at no
// newer version than given there. With several pins, the oldest applicable
// version of an object wins. A pin applies to everything serialized while
// serving such a call, the outgoing calls it makes included (a newer
// service reads the older versions). A malformed Below applies to no call.
type Pin struct {
	Below   string
	Objects Manifest
}

// manifest is the version caps for a call requesting API version requested
// ("" when it sent none: no pins apply).
func (s *Serializer) manifest(requested string) Manifest {
	if requested == "" || len(s.Pins) == 0 {
		return nil
	}
	rv, err := ParseVersion(requested)
	if err != nil {
		return nil
	}
	var m Manifest
	for _, p := range s.Pins {
		below, err := ParseVersion(p.Below)
		if err != nil || !rv.Less(below) {
			continue // a malformed pin applies to no call
		}
		if m == nil {
			m = Manifest{}
		}
		for name, v := range p.Objects {
			m[name] = oldest(m[name], v)
		}
	}
	return m
}

// SerializeEntity returns v with its declared objects as primitives, at the
// versions the served call's caller reads.
func (s *Serializer) SerializeEntity(ctx context.Context, v any) (any, error) {
	var requested string
	if c, ok := sdk.CallInfo(ctx); ok {
		requested = c.RequestVersion
	}
	return s.Registry.Primitive(v, s.manifest(requested))
}

// DeserializeEntity rewrites the primitives of declared objects in raw into
// the form their structs decode from, backporting newer ones.
func (s *Serializer) DeserializeEntity(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	var bp Backporter
	if s.Backport.Topic != "" {
		bp = s.backport
	}
	return s.Registry.decode(ctx, raw, bp)
}

// SerializeContext returns reqCtx.
func (s *Serializer) SerializeContext(_ context.Context, reqCtx map[string]any) (map[string]any, error) {
	return reqCtx, nil
}

// DeserializeContext returns reqCtx.
func (s *Serializer) DeserializeContext(_ context.Context, reqCtx map[string]any) (map[string]any, error) {
	return reqCtx, nil
}

// backport asks the conductor, through the host, for prim at manifest's
// versions, forwarding the served call's request context.
func (s *Serializer) backport(ctx context.Context, prim map[string]any, manifest Manifest) (map[string]any, error) {
	h, err := sdk.Host(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	args := map[string]any{"objinst": prim, "object_versions": manifest}
	if err := h.Call(ctx, s.Backport, "object_backport_versions", args, &out, sdk.WithSerializer(sdk.NoOpSerializer{})); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, fmt.Errorf("conductor returned no object")
	}
	return out, nil
}
