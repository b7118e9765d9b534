package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"

	"github.com/oslohost/oslohost/oslo"
)

// PingMethod is the method oslo.messaging servers answer with "pong" when
// rpc_ping_enabled is set.
const PingMethod = "oslo_rpc_server_ping"

// Endpoint is a set of methods served under one namespace and version, like
// a Python endpoint object with its target.
type Endpoint struct {
	// Namespace is "" for the default (null) namespace.
	Namespace string
	// LegacyNamespaces are further namespaces the endpoint answers to.
	LegacyNamespaces []string
	// Version is the endpoint's version; "" counts as "1.0", as an
	// endpoint without a target does in Python.
	Version string
	// Methods maps method names (as callers send them) to handlers.
	Methods map[string]Handler
}

// AccessPolicy decides whether a method name may be called remotely.
type AccessPolicy func(method string) bool

// DefaultAccessPolicy refuses names starting with an underscore, as
// oslo_messaging.DefaultRPCAccessPolicy does.
func DefaultAccessPolicy(method string) bool { return !strings.HasPrefix(method, "_") }

// Dispatcher picks the handler for a request with oslo's rules
// ([oslo.Dispatch], rpc/dispatcher.py): endpoints are tried in order; one
// whose namespace and version fit and that has the method (allowed by the
// policy) wins; if some endpoint fit but none had the method the failure
// is NoSuchMethod, otherwise UnsupportedVersion.
//
// A Dispatcher is safe for concurrent use; SetEndpoints swaps the endpoint
// list atomically, so requests see either the old or the new list.
type Dispatcher struct {
	endpoints atomic.Pointer[[]Endpoint]
	// Policy is DefaultAccessPolicy when nil.
	Policy AccessPolicy
	// NoPing disables the built-in oslo_rpc_server_ping endpoint (which
	// answers requests without namespace, version 1.x, like Python's).
	NoPing bool
}

// NewDispatcher returns a dispatcher over endpoints.
func NewDispatcher(endpoints ...Endpoint) *Dispatcher {
	d := &Dispatcher{}
	d.SetEndpoints(endpoints)
	return d
}

// SetEndpoints replaces the endpoint list.
func (d *Dispatcher) SetEndpoints(endpoints []Endpoint) {
	eps := append([]Endpoint(nil), endpoints...)
	d.endpoints.Store(&eps)
}

// Endpoints returns the current endpoint list (do not modify it).
func (d *Dispatcher) Endpoints() []Endpoint {
	if p := d.endpoints.Load(); p != nil {
		return *p
	}
	return nil
}

var pingEndpoint = Endpoint{Methods: map[string]Handler{
	PingMethod: HandlerFunc(func(context.Context, *Call) (json.RawMessage, error) {
		return json.RawMessage(`"pong"`), nil
	}),
}}

// Lookup returns the handler for req, or the failure a Python server would
// send instead.
func (d *Dispatcher) Lookup(req *oslo.Request) (Handler, *oslo.Failure) {
	eps := d.Endpoints()
	if !d.NoPing && req.Method == PingMethod && !defines(eps, PingMethod) {
		eps = append(eps[:len(eps):len(eps)], pingEndpoint)
	}
	policy := d.Policy
	if policy == nil {
		policy = DefaultAccessPolicy
	}
	i, f := oslo.Dispatch(req, len(eps),
		func(i int) oslo.EndpointTarget { return eps[i].target() },
		func(i int) bool { _, ok := eps[i].Methods[req.Method]; return ok && policy(req.Method) })
	if f != nil {
		return nil, f
	}
	if f := argsShapeFailure(req.Args); f != nil {
		return nil, f
	}
	return eps[i].Methods[req.Method], nil
}

// target is the endpoint as oslo.Dispatch reads it.
func (ep *Endpoint) target() oslo.EndpointTarget {
	return oslo.EndpointTarget{Namespace: ep.Namespace, LegacyNamespaces: ep.LegacyNamespaces, Version: ep.Version}
}

func defines(eps []Endpoint, method string) bool {
	for _, ep := range eps {
		if _, ok := ep.Methods[method]; ok {
			return true
		}
	}
	return false
}

// argsShapeFailure is what Python raises when args is not an object:
// the dispatcher calls args.items().
func argsShapeFailure(args json.RawMessage) *oslo.Failure {
	if len(args) > 0 && args[0] == '{' {
		return nil
	}
	t := "NoneType"
	if len(args) > 0 {
		switch args[0] {
		case '[':
			t = "list"
		case '"':
			t = "str"
		case 't', 'f':
			t = "bool"
		case 'n':
			t = "NoneType"
		default:
			t = "int"
			if strings.ContainsAny(string(args), ".eE") {
				t = "float"
			}
		}
	}
	return oslo.BuiltinError("AttributeError", "'"+t+"' object has no attribute 'items'")
}
