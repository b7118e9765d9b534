package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk/internal/bridge"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func init() {
	bridge.NewServer = func(p any, logger hclog.Logger, maxSize int) pluginv1.EndpointServer {
		s := newServer(p.(Plugin), logger)
		if maxSize > 0 {
			s.maxSize = maxSize
		}
		return s
	}
}

// server implements the plugin side of the protocol for a Plugin. It is safe
// for concurrent use; the calls of its Calls stream run concurrently.
type server struct {
	pluginv1.UnimplementedEndpointServer

	plugin  Plugin
	logger  hclog.Logger
	version string
	maxSize int // the gRPC message size cap: larger call results fail alone

	mu         sync.Mutex // serializes Configure and Close
	closed     bool
	pluginName string
	state      atomic.Pointer[serverState] // nil until configured

	hostDialer pluginv1.HostDialer        // set before serving; nil: no host service
	host       atomic.Pointer[HostClient] // set by Configure when the host offers it
	hostClose  func() error               // releases host's connection; under mu

	stopTracing func(context.Context) error // set when the host asked for spans; under mu
}

type serverState struct {
	endpoints []*compiledEndpoint
	handlers  map[string]*compiledHandler
	describe  *pluginv1.DescribeResponse
}

var (
	_ pluginv1.EndpointServer = (*server)(nil)
	_ pluginv1.CallHandler    = (*server)(nil)
	_ pluginv1.HostUser       = (*server)(nil)
)

// Calls serves the host's Calls stream: each invoke frame runs as
// [server.Invoke] and each notify frame as [server.Notify], concurrently,
// with the frame's deadline and cancellation (see pluginv1.ServeCalls).
func (s *server) Calls(stream pluginv1.Endpoint_CallsServer) error {
	return pluginv1.ServeCalls(stream, s, s.maxSize)
}

// SetHostDialer is called by the go-plugin glue before serving.
func (s *server) SetHostDialer(d pluginv1.HostDialer) { s.hostDialer = d }

// closeHost releases the Host service connection, if any; under mu.
func (s *server) closeHost() {
	s.host.Store(nil)
	if s.hostClose != nil {
		_ = s.hostClose()
		s.hostClose = nil
	}
}

// connectHost dials the Host service under id, unless 0 or no dialer.
func (s *server) connectHost(ctx context.Context, id uint32) error {
	if id == 0 || s.hostDialer == nil {
		return nil
	}
	s.closeHost()
	hc, closeFn, err := s.hostDialer(ctx, id)
	if err != nil {
		return err
	}
	s.hostClose = closeFn
	s.host.Store(&HostClient{c: hc})
	return nil
}

func newServer(p Plugin, logger hclog.Logger) *server {
	return &server{plugin: p, logger: logger, version: buildVersion(), maxSize: pluginv1.DefaultMaxMessageSize}
}

func (s *server) Configure(ctx context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() != nil {
		return nil, status.Error(codes.FailedPrecondition, "plugin already configured")
	}
	if s.closed {
		return nil, status.Error(codes.FailedPrecondition, "plugin closed")
	}
	if err := s.connectHost(ctx, req.GetHostServiceBrokerId()); err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	s.startTelemetry(ctx, req.GetTelemetry())
	cfg := NewConfig(req.GetPluginName(), req.GetConfigJson())
	var (
		eps []Endpoint
		hs  []Notifications
	)
	err := s.hook(ctx, "configure", func(ctx context.Context) error {
		var err error
		if eps, err = s.plugin.Configure(ctx, cfg); err != nil {
			return err
		}
		if np, ok := s.plugin.(NotificationPlugin); ok {
			hs = np.NotificationHandlers()
		}
		return nil
	})
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(eps) == 0 && len(hs) == 0 {
		return nil, status.Error(codes.InvalidArgument, "plugin serves no endpoints and no notification handlers")
	}
	st := &serverState{describe: &pluginv1.DescribeResponse{PluginVersion: s.version}}
	errs := st.addHandlers(hs)
	for _, e := range eps {
		ce, err := compile(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st.endpoints = append(st.endpoints, ce)
		st.describe.Endpoints = append(st.describe.Endpoints, &pluginv1.EndpointInfo{
			Namespace:        ce.namespace,
			Version:          ce.version,
			Methods:          append([]string(nil), ce.names...),
			LegacyNamespaces: append([]string(nil), ce.legacy...),
		})
	}
	if len(errs) > 0 {
		return nil, status.Error(codes.InvalidArgument, errors.Join(errs...).Error())
	}
	s.pluginName = req.GetPluginName()
	s.state.Store(st)
	return &pluginv1.ConfigureResponse{}, nil
}

// addHandlers compiles hs into st, in order.
func (st *serverState) addHandlers(hs []Notifications) []error {
	var errs []error
	st.handlers = map[string]*compiledHandler{}
	for _, n := range hs {
		ch, err := compileHandler(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := st.handlers[ch.name]; dup {
			errs = append(errs, fmt.Errorf("notification handler %q: name used twice", ch.name))
			continue
		}
		st.handlers[ch.name] = ch
		st.describe.NotificationHandlers = append(st.describe.NotificationHandlers, &pluginv1.NotificationHandlerInfo{
			Name:       ch.name,
			Priorities: append([]string(nil), ch.priorities...),
			Batch:      ch.batch,
		})
	}
	return errs
}

func (s *server) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	st := s.state.Load()
	if st == nil {
		return nil, errNotConfigured
	}
	return st.describe, nil
}

func (s *server) Close(ctx context.Context, _ *pluginv1.CloseRequest) (*pluginv1.CloseResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return &pluginv1.CloseResponse{}, nil
	}
	s.closed = true
	defer s.closeHost()
	defer s.stopTelemetry(ctx)
	c, ok := s.plugin.(Closer)
	if !ok || s.state.Load() == nil {
		return &pluginv1.CloseResponse{}, nil
	}
	if err := s.hook(ctx, "close", c.Close); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pluginv1.CloseResponse{}, nil
}

var errNotConfigured = status.Error(codes.FailedPrecondition, "plugin not configured: the host calls Configure first")

// hook runs a lifecycle hook, turning a panic into an error.
func (s *server) hook(ctx context.Context, name string, f func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.logger.Error("plugin panic", "hook", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s: plugin panic: %v", name, v)
		}
	}()
	return f(withLogger(s.withHost(ctx), s.logger))
}

// Invoke runs one invoke frame of the Calls stream.
func (s *server) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (resp *pluginv1.InvokeResponse, err error) {
	ctx, span := tracing.StartFromTraceparent(ctx, req.GetTraceparent(), "plugin.handle", req.GetMethod()) // nothing unless traced
	defer func() {
		if span.On() {
			span.End(spanError(resp, err))
		}
	}()
	st := s.state.Load()
	if st == nil {
		return nil, errNotConfigured
	}
	m, ep, f := st.lookup(req)
	if f != nil {
		return failed(f), nil
	}
	ctxJSON := bytes.TrimSpace(req.GetContextJson())
	if len(ctxJSON) == 0 || string(ctxJSON) == "null" {
		ctxJSON = nil
	} else if ctxJSON[0] != '{' || !json.Valid(ctxJSON) {
		return nil, status.Errorf(codes.InvalidArgument, "request context: not a JSON object: %.100s", ctxJSON)
	}
	if d, ok := req.Deadline(); ok {
		// The Calls stream already gave ctx this deadline; a unary Invoke
		// (tests, sdktest) did not.
		if cur, ok := ctx.Deadline(); !ok || d.Before(cur) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, d)
			defer cancel()
		}
	}
	cs := &callState{
		info: Call{
			PluginName:       s.pluginName,
			Namespace:        ep.namespace,
			Version:          ep.version,
			Method:           m.name,
			MsgID:            req.GetMsgId(),
			RequestNamespace: req.GetRequestNamespace(),
			RequestVersion:   req.GetRequestVersion(),
		},
		ctxJSON: ctxJSON,
		base:    s.logger,
		ser:     ep.serializer,
	}
	return s.call(withCall(s.withHost(ctx), cs), m, req.GetArgsJson()), nil
}

// lookup finds the endpoint the host chose (namespace and version as
// described) and its method; otherwise it returns the dispatcher failure a
// Python server would give.
func (st *serverState) lookup(req *pluginv1.InvokeRequest) (*method, *compiledEndpoint, *pluginv1.Failure) {
	version := req.GetVersion()
	if version == "" {
		version = DefaultVersion
	}
	found := false
	for _, ep := range st.endpoints {
		if ep.namespace != req.GetNamespace() || ep.version != version {
			continue
		}
		found = true
		if m, ok := ep.methods[req.GetMethod()]; ok {
			return m, ep, nil
		}
	}
	if found {
		return nil, nil, dispatcherFailure(oslo.NoSuchMethod(req.GetMethod()))
	}
	rv := req.GetRequestVersion()
	if rv == "" {
		rv = version
	}
	return nil, nil, dispatcherFailure(oslo.UnsupportedVersion(rv, req.GetMethod()))
}

// call runs m, turning its result, error or panic into a response.
func (s *server) call(ctx context.Context, m *method, argsJSON []byte) (resp *pluginv1.InvokeResponse) {
	defer func() {
		if v := recover(); v != nil {
			pcs := make([]uintptr, 64)
			n := runtime.Callers(2, pcs)
			Logger(ctx).Error("plugin panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			resp = failed(failureFromPanic(v, pcs[:n], m.pc))
		}
	}()
	argsJSON, err := deserializeCall(ctx, argsJSON)
	if err != nil {
		return failed(failureFromError(err, m.pc))
	}
	in := []reflect.Value{reflect.ValueOf(ctx)}
	arg, err := m.decodeArgs(argsJSON)
	if err != nil {
		return failed(failureFromError(err, m.pc))
	}
	if m.argType != nil {
		in = append(in, arg)
	}
	out := m.fn.Call(in)
	if errV := out[len(out)-1]; !errV.IsNil() {
		return failed(failureFromError(errV.Interface().(error), m.pc))
	}
	result := []byte("null")
	if m.hasRes {
		b, err := serializeResult(ctx, m.qualName, out[0].Interface())
		if err != nil {
			return failed(failureFromError(err, m.pc))
		}
		result = b
	}
	return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_ResultJson{ResultJson: result}}
}

func failed(f *pluginv1.Failure) *pluginv1.InvokeResponse {
	return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_Failure{Failure: f}}
}

// buildVersion names the plugin build: the main module's version, or its VCS
// revision for a development build.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	if v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return v
}
