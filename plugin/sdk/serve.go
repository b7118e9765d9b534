package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"

	"github.com/hashicorp/go-plugin"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// DefaultVersion is the version of an endpoint that declares none, as in
// oslo.messaging (a Target without version is "1.0").
const DefaultVersion = "1.0"

// Endpoint is one oslo.messaging endpoint: a target (namespace and version)
// and the value whose methods are its RPC methods.
//
// The RPC methods of Impl are its exported methods shaped
//
//	func(ctx context.Context, args T) (R, error)
//	func(ctx context.Context) (R, error)
//	func(ctx context.Context, args T) error
//	func(ctx context.Context) error
//
// exposed under their snake_case names ([SnakeCase]: AddNumbers is
// add_numbers). T is a struct, a pointer to a struct or a map with string
// keys, decoded from the request's args object (the Python keyword
// arguments) with encoding/json: use json tags for the Python names; keys T
// does not have are ignored, missing keys leave zero values, a type mismatch
// fails the call with builtins.TypeError. Numbers decoded into untyped
// places (any, map[string]any) are json.Number, so large integers keep their
// precision when echoed back. R is anything encoding/json can encode (HTML
// characters are not escaped); error-only methods return None. Methods whose first parameter is
// not a context.Context are not RPC methods. A method that takes a context
// but has another shape is a mistake reported when the plugin starts. The
// hooks Configure(context.Context, Config) error and Close(context.Context)
// error ([Configurer], [Closer]) are never RPC methods.
//
// Methods are called concurrently, one goroutine per call: Impl must be safe
// for concurrent use.
type Endpoint struct {
	// Namespace is the oslo Target namespace; "" is the default (null) namespace.
	Namespace string
	// Version is the oslo Target version, "major.minor"; "" means [DefaultVersion].
	Version string
	// LegacyNamespaces are further namespaces this endpoint answers to
	// (oslo Target.legacy_namespaces).
	LegacyNamespaces []string
	// Impl holds the methods; usually a pointer to a struct.
	Impl any
}

// Configurer is implemented by an Endpoint's Impl that wants the plugin's
// config block. With [Serve] or [Static], Configure is called once per
// distinct Impl, before the host asks for the endpoints; an error stops the
// plugin from starting.
type Configurer interface {
	Configure(ctx context.Context, cfg Config) error
}

// Closer is implemented by an Impl or a [Plugin] that releases resources when
// the host stops the plugin. Close is called at most once.
type Closer interface {
	Close(ctx context.Context) error
}

// Plugin decides its endpoints from its configuration: Configure is called
// once, with the plugin's config block, before the host asks for the
// endpoints, and never concurrently with Close. A Plugin that also implements [Closer] is closed when the host
// stops it. The Impls of the returned endpoints are not configured or closed
// by the SDK: that is the Plugin's job.
type Plugin interface {
	Configure(ctx context.Context, cfg Config) ([]Endpoint, error)
}

// PluginFunc adapts a function to [Plugin].
type PluginFunc func(ctx context.Context, cfg Config) ([]Endpoint, error)

var _ Plugin = PluginFunc(nil)

// Configure calls f(ctx, cfg).
func (f PluginFunc) Configure(ctx context.Context, cfg Config) ([]Endpoint, error) {
	return f(ctx, cfg)
}

// Static returns a [Plugin] serving fixed endpoints. Its Configure calls the
// [Configurer] hook of each distinct Impl, in order; its Close calls the
// [Closer] hook of each distinct Impl, in reverse order.
func Static(endpoints ...Endpoint) Plugin {
	return &staticPlugin{endpoints: endpoints}
}

// Serve serves endpoints to the host and returns when the host stops the
// plugin; call it from main. If an endpoint is invalid (no RPC methods, a
// method of an unsupported shape, a bad version) Serve logs why and exits
// the process with status 1 before the handshake. Started by hand rather
// than by oslohost, the binary prints a notice and exits with status 1.
func Serve(endpoints ...Endpoint) {
	for _, e := range endpoints {
		if _, err := compile(e); err != nil {
			fail(err)
		}
	}
	if len(endpoints) == 0 {
		fail(fmt.Errorf("sdk.Serve: no endpoints"))
	}
	ServePlugin(Static(endpoints...))
}

// ServePlugin serves p to the host and returns when the host stops the
// plugin; call it from main. Errors of p.Configure and invalid endpoints are
// reported to the host, which refuses to start the plugin.
func ServePlugin(p Plugin) {
	logger := Log() // created before go-plugin redirects os.Stderr
	size, err := pluginv1.MaxMessageSizeFromEnv()
	if err != nil {
		fail(err)
	}
	plugin.Serve(pluginv1.ServeConfig(newServer(p, logger), size, logger))
}

func fail(err error) {
	Log().Error("plugin cannot start", "error", err)
	os.Exit(1)
}

type staticPlugin struct {
	endpoints []Endpoint
}

var (
	_ Plugin = (*staticPlugin)(nil)
	_ Closer = (*staticPlugin)(nil)
)

func (s *staticPlugin) impls() []any {
	var out []any
	seen := map[any]bool{}
	for _, e := range s.endpoints {
		if e.Impl == nil || !reflect.TypeOf(e.Impl).Comparable() {
			out = append(out, e.Impl)
			continue
		}
		if !seen[e.Impl] {
			seen[e.Impl] = true
			out = append(out, e.Impl)
		}
	}
	return out
}

func (s *staticPlugin) Configure(ctx context.Context, cfg Config) ([]Endpoint, error) {
	for _, impl := range s.impls() {
		if c, ok := impl.(Configurer); ok {
			if err := c.Configure(ctx, cfg); err != nil {
				return nil, fmt.Errorf("configure %T: %w", impl, err)
			}
		}
	}
	return s.endpoints, nil
}

func (s *staticPlugin) Close(ctx context.Context) error {
	impls := s.impls()
	var errs []error
	for i := len(impls) - 1; i >= 0; i-- {
		if c, ok := impls[i].(Closer); ok {
			if err := c.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close %T: %w", impls[i], err))
			}
		}
	}
	return errors.Join(errs...)
}
