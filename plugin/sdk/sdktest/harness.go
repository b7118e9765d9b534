package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/internal/pyjson"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/internal/bridge"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// hookTimeout bounds Configure, Describe and Close.
const hookTimeout = 30 * time.Second

// Harness runs one plugin in-process. It is safe for concurrent use. A
// harness from [New] or [NewPlugin] is stopped by t.Cleanup (which also
// closes the plugin if the test did not); one from [Start] by [Harness.Stop].
type Harness struct {
	client     pluginv1.Endpoint
	pluginName string
	configure  []pluginv1.ConfigureOption // of every Configure

	mu         sync.Mutex
	configured bool
	endpoints  []EndpointInfo
	handlers   []NotificationHandlerInfo

	stop     func() error
	stopOnce sync.Once
	stopErr  error
}

// EndpointInfo is an endpoint as the plugin describes it to the host.
type EndpointInfo struct {
	Namespace        string
	Version          string
	Methods          []string
	LegacyNamespaces []string
}

// Option adjusts [New] and [NewPlugin].
type Option func(*options)

type options struct {
	pluginName string
	maxSize    int
	logger     hclog.Logger
	host       pluginv1.HostServer
}

// PluginName sets the plugin name handed to Configure (default "test").
func PluginName(name string) Option { return func(o *options) { o.pluginName = name } }

// MaxMessageSize sets the gRPC message size cap (default pluginv1.DefaultMaxMessageSize).
func MaxMessageSize(n int) Option { return func(o *options) { o.maxSize = n } }

// WithLogger sets the plugin's logger (default: lines go to t.Log).
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHost serves impl to the plugin as the host's Host service, so that
// sdk.Host works in the plugin (calls, casts and notifications reach impl).
// Without it sdk.Host returns sdk.ErrNoHost.
func WithHost(impl pluginv1.HostServer) Option { return func(o *options) { o.host = impl } }

// New serves endpoints in-process, as sdk.Serve would, and returns a harness
// calling them. Configure hooks run on the first Configure, Describe, Call
// or Notify. Use [NewPlugin] with sdk.Static(endpoints...) to pass options,
// and with sdk.StaticAll(...) to serve notification handlers too.
func New(t testing.TB, endpoints ...sdk.Endpoint) *Harness {
	return NewPlugin(t, sdk.Static(endpoints...))
}

// NewPlugin serves p in-process, as sdk.ServePlugin would. The plugin's log
// lines go to t.Log unless [WithLogger] says otherwise.
func NewPlugin(t testing.TB, p sdk.Plugin, opts ...Option) *Harness {
	t.Helper()
	tw := &testWriter{t: t}
	logger := hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: hclog.Debug, Output: tw})
	h, err := Start(p, append([]Option{WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Stop(); err != nil {
			t.Errorf("sdktest: %v", err)
		}
		tw.stop()
	})
	return h
}

// Start serves p in-process without a testing.TB, for examples and
// benchmarks' setup; call [Harness.Stop] when done. The plugin logs through
// sdk.Log unless [WithLogger] says otherwise.
func Start(p sdk.Plugin, opts ...Option) (*Harness, error) {
	o := options{pluginName: "test"}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = sdk.Log()
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(pluginv1.ServerOptions(o.maxSize)...)
	impl := bridge.NewServer(p, o.logger, o.maxSize)
	var stopHost func()
	if o.host != nil {
		d, stop := serveHost(o.host, o.maxSize)
		impl.(pluginv1.HostUser).SetHostDialer(d)
		stopHost = stop
	}
	gp := &pluginv1.GRPCPlugin{Impl: impl}
	if err := gp.GRPCServer(nil, srv); err != nil {
		if stopHost != nil {
			stopHost()
		}
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	dial := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, pluginv1.DialOptions(o.maxSize)...)
	conn, err := grpc.NewClient("passthrough:///sdktest", dial...)
	if err != nil {
		srv.Stop()
		<-served
		if stopHost != nil {
			stopHost()
		}
		return nil, fmt.Errorf("dial: %w", err)
	}
	h := &Harness{client: pluginv1.NewClient(conn, pluginv1.WithMaxMessageSize(o.maxSize)), pluginName: o.pluginName}
	if o.host != nil {
		h.configure = []pluginv1.ConfigureOption{pluginv1.WithHostService(hostBrokerID)}
	}
	h.stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
		defer cancel()
		err := h.client.Close(ctx)
		_ = conn.Close()
		srv.Stop()
		<-served
		if stopHost != nil {
			stopHost()
		}
		if err != nil {
			return fmt.Errorf("close plugin: %w", err)
		}
		return nil
	}
	return h, nil
}

// Stop closes the plugin (its close hook runs unless [Harness.Close] ran
// it) and releases the in-process connection. Idempotent; calls after
// Stop fail.
func (h *Harness) Stop() error {
	h.stopOnce.Do(func() { h.stopErr = h.stop() })
	return h.stopErr
}

// Client returns the host's view of the plugin, for tests of host code.
func (h *Harness) Client() pluginv1.Endpoint { return h.client }

// Configure configures the plugin with cfg as its config block: nil for
// none, []byte or json.RawMessage as JSON text, anything else encoded with
// encoding/json. It fails if the plugin is already configured (explicitly or
// by an earlier Describe or Call).
func (h *Harness) Configure(cfg any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.configureLocked(cfg)
}

func (h *Harness) configureLocked(cfg any) error {
	var raw []byte
	switch c := cfg.(type) {
	case nil:
	case []byte:
		raw = c
	case json.RawMessage:
		raw = c
	default:
		b, err := json.Marshal(cfg)
		if err != nil {
			return fmt.Errorf("encode config: %w", err)
		}
		raw = b
	}
	ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
	defer cancel()
	if err := h.client.Configure(ctx, h.pluginName, raw, h.configure...); err != nil {
		return err
	}
	resp, err := h.client.Describe(ctx)
	if err != nil {
		return err
	}
	h.configured = true
	h.endpoints = endpointInfos(resp)
	h.handlers = handlerInfos(resp)
	return nil
}

func endpointInfos(resp *pluginv1.DescribeResponse) []EndpointInfo {
	var out []EndpointInfo
	for _, e := range resp.GetEndpoints() {
		out = append(out, EndpointInfo{
			Namespace:        e.GetNamespace(),
			Version:          e.GetVersion(),
			Methods:          e.GetMethods(),
			LegacyNamespaces: e.GetLegacyNamespaces(),
		})
	}
	return out
}

// ensureConfigured configures the plugin without config if nothing did yet.
func (h *Harness) ensureConfigured() ([]EndpointInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.configured {
		if err := h.configureLocked(nil); err != nil {
			return nil, err
		}
	}
	return h.endpoints, nil
}

// Describe returns the endpoints the plugin serves, configuring it without
// config first if needed.
func (h *Harness) Describe() ([]EndpointInfo, error) {
	resp, err := h.describe()
	if err != nil {
		return nil, err
	}
	return endpointInfos(resp), nil
}

// describe asks the plugin what it serves, configuring it without config
// first if needed.
func (h *Harness) describe() (*pluginv1.DescribeResponse, error) {
	if _, err := h.ensureConfigured(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
	defer cancel()
	return h.client.Describe(ctx)
}

// Close runs the plugin's close hook (also run at cleanup; idempotent).
func (h *Harness) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
	defer cancel()
	return h.client.Close(ctx)
}

// CallOption adjusts one [Harness.Call].
type CallOption func(*callOptions)

type callOptions struct {
	namespace string
	version   string
	context   map[string]any
	msgID     string
}

// Namespace sets the request namespace (default: none, oslo's null).
func Namespace(ns string) CallOption { return func(o *callOptions) { o.namespace = ns } }

// Version sets the requested version (default: none, which oslo treats as "1.0").
func Version(v string) CallOption { return func(o *callOptions) { o.version = v } }

// Context sets the request context dict; client_timeout is added as the host
// adds it (the ctx deadline in seconds, or null).
func Context(c map[string]any) CallOption { return func(o *callOptions) { o.context = c } }

// MsgID sets the message id the method sees (default "sdktest-<n>").
func MsgID(id string) CallOption { return func(o *callOptions) { o.msgID = id } }

var msgSeq struct {
	sync.Mutex
	n int
}

// Call calls method with args (encoded as the SDK encodes results: as
// encoding/json does, but floats as Python writes them, so a float64 1.0
// arrives as the Python float 1.0; nil means no arguments) and decodes the result into result (a pointer; nil to discard
// it). The call is routed as oslo.messaging routes it. A method's error, or a
// routing error (NoSuchMethod, UnsupportedVersion), is returned as a
// *sdk.RemoteError, wrapped by sdk.Expected when the plugin marked it
// expected. ctx's deadline is the call's deadline. Safe for concurrent use.
func (h *Harness) Call(ctx context.Context, method string, args any, result any, opts ...CallOption) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	eps, err := h.ensureConfigured()
	if err != nil {
		return err
	}
	req := &pluginv1.InvokeRequest{
		Method:           method,
		MsgId:            o.msgID,
		RequestNamespace: o.namespace,
		RequestVersion:   o.version,
	}
	if req.MsgId == "" {
		msgSeq.Lock()
		msgSeq.n++
		req.MsgId = fmt.Sprintf("sdktest-%d", msgSeq.n)
		msgSeq.Unlock()
	}
	ep, rerr := route(eps, o.namespace, o.version, method)
	if rerr != nil {
		return rerr
	}
	req.Namespace, req.Version = ep.Namespace, ep.Version
	if args == nil {
		req.ArgsJson = []byte("{}")
	} else if req.ArgsJson, err = pyjson.Marshal(args); err != nil {
		return fmt.Errorf("encode args: %w", err)
	}
	reqCtx := map[string]any{}
	for k, v := range o.context {
		reqCtx[k] = v
	}
	if _, ok := reqCtx["client_timeout"]; !ok {
		reqCtx["client_timeout"] = nil
		if d, ok := ctx.Deadline(); ok {
			reqCtx["client_timeout"] = time.Until(d).Seconds()
		}
	}
	if req.ContextJson, err = json.Marshal(reqCtx); err != nil {
		return fmt.Errorf("encode context: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		req.SetDeadline(d)
	}
	resp, err := h.client.Invoke(ctx, req)
	if err != nil {
		return err
	}
	if f := resp.GetFailure(); f != nil {
		return remoteError(f)
	}
	if result != nil {
		if err := json.Unmarshal(resp.GetResultJson(), result); err != nil {
			return fmt.Errorf("decode result %s: %w", resp.GetResultJson(), err)
		}
	}
	return nil
}

// route picks the endpoint as the host does: by oslo.Dispatch, over the
// endpoints as described, each serving its described methods. (The host's
// access policy, which refuses names starting with "_", never refuses an
// SDK method: their snake_case names start with a letter.)
func route(eps []EndpointInfo, namespace, version, method string) (EndpointInfo, error) {
	req := &oslo.Request{Namespace: namespace, Version: version, Method: method}
	i, f := oslo.Dispatch(req, len(eps),
		func(i int) oslo.EndpointTarget {
			return oslo.EndpointTarget{Namespace: eps[i].Namespace, LegacyNamespaces: eps[i].LegacyNamespaces, Version: eps[i].Version}
		},
		func(i int) bool { return slices.Contains(eps[i].Methods, method) })
	if f != nil {
		return EndpointInfo{}, dispatchError(f)
	}
	return eps[i], nil
}

// dispatchError is f as the *sdk.RemoteError a Python caller would see.
func dispatchError(f *oslo.Failure) *sdk.RemoteError {
	re := &sdk.RemoteError{Module: f.Module, Class: f.Class, Message: f.Message, Kwargs: map[string]any{}}
	_ = json.Unmarshal(f.Args, &re.Args)
	return re
}

// remoteError rebuilds the *sdk.RemoteError of a failure.
func remoteError(f *pluginv1.Failure) error {
	re := sdk.RemoteErrorOf(f.Oslo())
	if f.GetExpected() {
		return sdk.Expected(re)
	}
	return re
}

// testWriter sends log lines to t.Log until the test ends.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
