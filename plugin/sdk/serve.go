package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/hashicorp/go-hclog"
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
// arguments) with encoding/json; its fields are the method's parameters,
// under their json tag names, with Python's rules (see "Arguments and
// results" in the package doc): a field is required unless its json tag
// says omitempty or omitzero; a keyword T has no field for, or a missing
// required one, fails the call with Python's TypeError and message; a type
// mismatch fails it with builtins.TypeError. A map T takes any keywords
// (**kwargs); a method without T takes none. R is anything encoding/json
// can encode, encoded as encoding/json does except that HTML characters are
// not escaped and floats are written as Python writes them (1.0, not 1);
// error-only methods return None. Methods whose first parameter is
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
	// Serializer, if set, converts the arguments, request context and
	// result of the calls this endpoint serves, and of the outgoing calls
	// made while serving them (see [Serializer]).
	Serializer Serializer
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
// [Closer] hook of each distinct Impl, in reverse order. It is
// StaticAll with endpoints only.
func Static(endpoints ...Endpoint) Plugin {
	return StaticAll(servables(endpoints)...)
}

// StaticAll returns a [NotificationPlugin] serving fixed endpoints and
// notification handlers, each [Endpoint] or [Notifications] in items. Its
// Configure calls the [Configurer] hook of each distinct Impl (of endpoints
// and handlers alike), in order; its Close calls the [Closer] hook of each
// distinct Impl, in reverse order.
func StaticAll(items ...Servable) NotificationPlugin {
	sp := &staticPlugin{}
	for _, it := range items {
		switch v := it.(type) {
		case Endpoint:
			sp.endpoints = append(sp.endpoints, v)
			sp.impls = append(sp.impls, v.Impl)
		case Notifications:
			sp.handlers = append(sp.handlers, v)
			sp.impls = append(sp.impls, v.Impl)
		}
	}
	return sp
}

// Serve serves endpoints to the host and returns when the host stops the
// plugin; call it from main. If an endpoint is invalid (no RPC methods, a
// method of an unsupported shape, a bad version) Serve logs why and exits
// the process with status 1 before the handshake. Started by hand rather
// than by oslohost, the binary prints a notice and exits with status 1.
// While it serves, the plugin ignores SIGTERM and SIGINT: the host stops it
// once its calls are done. It is ServeAll with endpoints only.
func Serve(endpoints ...Endpoint) {
	ServeAll(servables(endpoints)...)
}

// ServeAll is [Serve] for a plugin that also handles notifications (or
// only handles notifications): it serves each [Endpoint] and
// [Notifications] in items. Invalid endpoints or handlers (no handler
// methods, a method of an unsupported shape, a name used twice) make it log
// why and exit with status 1 before the handshake.
//
//	audit := &Auditor{}
//	sdk.ServeAll(
//		sdk.Endpoint{Namespace: "audit", Version: "1.0", Impl: audit},
//		sdk.Notifications{Name: "audit", Impl: audit},
//	)
func ServeAll(items ...Servable) {
	if err := validate(items); err != nil {
		fail(err)
	}
	ServePlugin(StaticAll(items...))
}

func servables(endpoints []Endpoint) []Servable {
	out := make([]Servable, len(endpoints))
	for i, e := range endpoints {
		out[i] = e
	}
	return out
}

// validate checks items as the server will when configured.
func validate(items []Servable) error {
	if len(items) == 0 {
		return errors.New("nothing to serve: no endpoints and no notification handlers")
	}
	var errs []error
	names := map[string]bool{}
	for _, it := range items {
		switch v := it.(type) {
		case Endpoint:
			if _, err := compile(v); err != nil {
				errs = append(errs, err)
			}
		case Notifications:
			if _, err := compileHandler(v); err != nil {
				errs = append(errs, err)
			} else if names[v.Name] {
				errs = append(errs, fmt.Errorf("notification handler %q: name used twice", v.Name))
			}
			names[v.Name] = true
		}
	}
	return errors.Join(errs...)
}

// ServePlugin serves p to the host and returns when the host stops the
// plugin; call it from main. A p implementing [NotificationPlugin] serves
// its notification handlers too. Errors of p.Configure and invalid
// endpoints or handlers are reported to the host, which refuses to start
// the plugin.
func ServePlugin(p Plugin) {
	logger := Log() // created before go-plugin redirects os.Stderr
	size, err := pluginv1.MaxMessageSizeFromEnv()
	if err != nil {
		fail(err)
	}
	s := newServer(p, logger)
	s.maxSize = size
	ignoreStopSignals(logger)
	plugin.Serve(pluginv1.ServeConfig(s, size, logger))
}

// ignoreStopSignals leaves the plugin's shutdown to the host: a SIGTERM or
// SIGINT sent to the host and its plugins together (systemd's default
// KillMode=control-group, a Ctrl-C in a terminal) must not end the plugin
// while the host drains its calls; the host stops it after that. go-plugin's
// own servers ignore SIGINT for the same reason. The signals are caught,
// not ignored, so that processes the plugin starts get them as usual.
func ignoreStopSignals(logger hclog.Logger) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	go func() {
		for sig := range sigs {
			logger.Debug("signal ignored: the host stops this plugin once its calls are done", "signal", sig.String())
		}
	}()
}

func fail(err error) {
	Log().Error("plugin cannot start", "error", err)
	os.Exit(1)
}

type staticPlugin struct {
	endpoints []Endpoint
	handlers  []Notifications
	impls     []any // of endpoints and handlers, in registration order
}

var (
	_ NotificationPlugin = (*staticPlugin)(nil)
	_ Closer             = (*staticPlugin)(nil)
)

// distinctImpls returns the Impls, each comparable one once.
func (s *staticPlugin) distinctImpls() []any {
	var out []any
	seen := map[any]bool{}
	for _, impl := range s.impls {
		if impl == nil || !reflect.TypeOf(impl).Comparable() {
			out = append(out, impl)
			continue
		}
		if !seen[impl] {
			seen[impl] = true
			out = append(out, impl)
		}
	}
	return out
}

func (s *staticPlugin) NotificationHandlers() []Notifications {
	return s.handlers
}

func (s *staticPlugin) Configure(ctx context.Context, cfg Config) ([]Endpoint, error) {
	for _, impl := range s.distinctImpls() {
		if c, ok := impl.(Configurer); ok {
			if err := c.Configure(ctx, cfg); err != nil {
				return nil, fmt.Errorf("configure %T: %w", impl, err)
			}
		}
	}
	return s.endpoints, nil
}

func (s *staticPlugin) Close(ctx context.Context) error {
	impls := s.distinctImpls()
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
