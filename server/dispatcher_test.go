package server

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/oslohost/oslohost/oslo"
)

func named(name string) Handler {
	return HandlerFunc(func(context.Context, *Call) (json.RawMessage, error) {
		return json.Marshal(name)
	})
}

// TestLookup checks the dispatcher against oslo's rules, with the endpoints
// of the wire spec's capture server (A.9, A.12).
func TestLookup(t *testing.T) {
	d := NewDispatcher(
		Endpoint{Methods: map[string]Handler{"echo": named("echo@none"), "_private": named("private"), "v2meth": nil}},
		Endpoint{Namespace: "ns1", Version: "1.3", Methods: map[string]Handler{"vmeth": named("vmeth")}},
		Endpoint{Version: "2.1", Methods: map[string]Handler{"echo": named("echo@2.1"), "v2meth": named("v2meth")}},
		Endpoint{Namespace: "legacy-new", LegacyNamespaces: []string{"legacy-old"}, Methods: map[string]Handler{"old": named("old")}},
	)
	delete(d.Endpoints()[0].Methods, "v2meth")
	tests := []struct {
		name    string
		req     oslo.Request
		handler string // "" when a failure is expected
		class   string
		message string
	}{
		{"plain", oslo.Request{Method: "echo"}, "echo@none", "", ""},
		{"version selects the endpoint", oslo.Request{Method: "echo", Version: "2.0"}, "echo@2.1", "", ""},
		{"endpoint without target is 1.0", oslo.Request{Method: "echo", Version: "1.1"}, "", "UnsupportedVersion", "Endpoint does not support RPC version 1.1. Attempted method: echo"},
		{"namespace and compatible version", oslo.Request{Method: "vmeth", Namespace: "ns1", Version: "1.2"}, "vmeth", "", ""},
		{"namespace, no version means 1.0", oslo.Request{Method: "vmeth", Namespace: "ns1"}, "vmeth", "", ""},
		{"minor too high", oslo.Request{Method: "vmeth", Namespace: "ns1", Version: "1.4"}, "", "UnsupportedVersion", "Endpoint does not support RPC version 1.4. Attempted method: vmeth"},
		{"revision too high", oslo.Request{Method: "vmeth", Namespace: "ns1", Version: "1.3.1"}, "", "UnsupportedVersion", "Endpoint does not support RPC version 1.3.1. Attempted method: vmeth"},
		{"unknown namespace", oslo.Request{Method: "vmeth", Namespace: "nope"}, "", "UnsupportedVersion", "Endpoint does not support RPC version 1.0. Attempted method: vmeth"},
		{"compatible endpoint lacks the method", oslo.Request{Method: "v2meth"}, "", "NoSuchMethod", "Endpoint does not support RPC method v2meth"},
		{"unknown method", oslo.Request{Method: "nope"}, "", "NoSuchMethod", "Endpoint does not support RPC method nope"},
		{"private method refused", oslo.Request{Method: "_private"}, "", "NoSuchMethod", "Endpoint does not support RPC method _private"},
		{"legacy namespace", oslo.Request{Method: "old", Namespace: "legacy-old"}, "old", "", ""},
		{"ping", oslo.Request{Method: PingMethod}, "pong", "", ""},
		{"ping with a namespace", oslo.Request{Method: PingMethod, Namespace: "ns1"}, "", "NoSuchMethod", "Endpoint does not support RPC method oslo_rpc_server_ping"},
		{"no method", oslo.Request{MethodMissing: true}, "", "TypeError", "hasattr(): attribute name must be string"},
		{"args not an object", oslo.Request{Method: "echo", Args: json.RawMessage(`[1]`)}, "", "AttributeError", "'list' object has no attribute 'items'"},
		{"unparsable version", oslo.Request{Method: "echo", Version: "1.x"}, "", "ValueError", "invalid literal for int() with base 10: 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			if req.Args == nil {
				req.Args = json.RawMessage(`{}`)
			}
			h, f := d.Lookup(&req)
			if tt.handler == "" {
				if f == nil || f.Class != tt.class || f.Message != tt.message {
					t.Fatalf("got handler=%v failure=%+v, want %s %q", h != nil, f, tt.class, tt.message)
				}
				return
			}
			if f != nil {
				t.Fatalf("failure %v", f)
			}
			res, _ := h.ServeRPC(context.Background(), &Call{})
			if want, _ := json.Marshal(tt.handler); string(res) != string(want) {
				t.Fatalf("handler %s, want %s", res, want)
			}
		})
	}
}

func TestLookupNoPingAndOwnPing(t *testing.T) {
	d := NewDispatcher()
	d.NoPing = true
	if _, f := d.Lookup(&oslo.Request{Method: PingMethod, Args: json.RawMessage(`{}`)}); f == nil || f.Class != "UnsupportedVersion" {
		t.Fatalf("ping disabled: %v", f)
	}
	own := NewDispatcher(Endpoint{Methods: map[string]Handler{PingMethod: named("mine")}})
	h, _ := own.Lookup(&oslo.Request{Method: PingMethod, Args: json.RawMessage(`{}`)})
	if res, _ := h.ServeRPC(context.Background(), &Call{}); string(res) != `"mine"` {
		t.Fatalf("an endpoint's own ping must win, got %s", res)
	}
}
