package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/server"
)

// routeProbe's methods answer with the target that served them.
type routeProbe struct{}

func served(ctx context.Context) (string, error) {
	c, _ := sdk.CallInfo(ctx)
	return c.Namespace + "|" + c.Version + "|" + c.Method, nil
}

func (routeProbe) Add(ctx context.Context) (string, error)   { return served(ctx) }
func (routeProbe) Vmeth(ctx context.Context) (string, error) { return served(ctx) }
func (routeProbe) Late(ctx context.Context) (string, error)  { return served(ctx) }

type lateProbe struct{}

func (lateProbe) Late(ctx context.Context) (string, error) { return served(ctx) }

// TestRouteLikeHost checks that the harness and the host's dispatcher
// (server.Dispatcher over the endpoints as the host builds them from the
// plugin's description, host/slot.go) route every request the same way:
// the same endpoint, or the same failure (module, class, message),
// malformed versions included.
func TestRouteLikeHost(t *testing.T) {
	h := New(t,
		sdk.Endpoint{Version: "1.3", Impl: routeProbe{}},
		sdk.Endpoint{Namespace: "ns1", LegacyNamespaces: []string{"old"}, Version: "2.1", Impl: routeProbe{}},
		sdk.Endpoint{Namespace: "ns1", Version: "2.3", Impl: lateProbe{}},
		sdk.Endpoint{Version: "7.5", Impl: lateProbe{}},
	)
	infos, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	var eps []server.Endpoint
	for _, e := range infos {
		ep := server.Endpoint{Namespace: e.Namespace, LegacyNamespaces: e.LegacyNamespaces, Version: e.Version, Methods: map[string]server.Handler{}}
		for _, m := range e.Methods {
			ep.Methods[m] = server.HandlerFunc(func(context.Context, *server.Call) (json.RawMessage, error) {
				return json.Marshal(e.Namespace + "|" + e.Version + "|" + m)
			})
		}
		eps = append(eps, ep)
	}
	d := server.NewDispatcher(eps...)

	versions := []string{"", "1.0", "1.3", "1.2.9", "1.3.0", "1.3.1", "1.4", "2.0", "2.1", "2.2", "2.3", "7.5", "7.0.1",
		"1x", "1.x", "x.1", "1", "2", "7", "1.0.0.0", " 1.0", "1.0 ", "-1.0", "+1.3", "1..0", ".", "1.3.x", "١.٠"}
	namespaces := []string{"", "ns1", "old", "nope"}
	methods := []string{"add", "vmeth", "late", "missing", "_private"}
	outcomes := map[string]int{}
	for _, ns := range namespaces {
		for _, v := range versions {
			for _, m := range methods {
				host := hostRoute(d, ns, v, m)
				var res string
				err := h.Call(context.Background(), m, nil, &res, Namespace(ns), Version(v))
				harness := "routed " + res
				var re *sdk.RemoteError
				if errors.As(err, &re) {
					harness = re.Module + "." + re.Class + ": " + re.Message
				} else if err != nil {
					harness = "error " + err.Error()
				}
				if harness != host {
					t.Errorf("namespace %q, version %q, method %q: harness %s; host %s", ns, v, m, harness, host)
				}
				outcomes[kind(host)]++
			}
		}
	}
	for _, k := range []string{"routed", "oslo_messaging.rpc.dispatcher.NoSuchMethod", "oslo_messaging.rpc.dispatcher.UnsupportedVersion",
		"builtins.ValueError", "builtins.IndexError"} {
		if outcomes[k] == 0 {
			t.Errorf("no request ended %s: the table misses a case (%v)", k, outcomes)
		}
	}
}

// hostRoute is the outcome of the host's dispatcher for a request.
func hostRoute(d *server.Dispatcher, ns, v, m string) string {
	req := &oslo.Request{Namespace: ns, Version: v, Method: m, Args: json.RawMessage("{}")}
	handler, f := d.Lookup(req)
	if f != nil {
		return f.Module + "." + f.Class + ": " + f.Message
	}
	res, err := handler.ServeRPC(context.Background(), &server.Call{Method: m, Namespace: ns, Version: v})
	if err != nil {
		return fmt.Sprintf("error %v", err)
	}
	var s string
	_ = json.Unmarshal(res, &s)
	return "routed " + s
}

func kind(outcome string) string {
	for i := 0; i < len(outcome); i++ {
		if outcome[i] == ':' || outcome[i] == ' ' {
			return outcome[:i]
		}
	}
	return outcome
}
