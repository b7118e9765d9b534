package sdk_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func invokeWithDeadline(t *testing.T, h *sdktest.Harness, method string, d time.Time) (*pluginv1.InvokeResponse, error) {
	t.Helper()
	if _, err := h.Describe(); err != nil {
		t.Fatal(err)
	}
	req := &pluginv1.InvokeRequest{Version: "1.0", Method: method, ArgsJson: []byte("{}")}
	req.SetDeadline(d)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.Client().Invoke(ctx, req)
}

func TestConfigureHookAndClose(t *testing.T) {
	c := &Calc{}
	h := sdktest.New(t, sdk.Endpoint{Impl: c}, sdk.Endpoint{Namespace: "again", Impl: c})
	if err := h.Configure(map[string]any{"start": 100}); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := h.Call(context.Background(), "add", map[string]int{"a": 1, "b": 2}, &got); err != nil {
		t.Fatal(err)
	}
	if got != 103 {
		t.Errorf("add = %d, want 103 (config start 100)", got)
	}
	if err := h.Configure(nil); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("second Configure = %v, want FailedPrecondition", err)
	}
	for range 2 {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.closed.Load(); n != 1 {
		t.Errorf("Close hook ran %d times, want once (one Impl, idempotent Close)", n)
	}
}

func TestConfigureStrictDecode(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: &Calc{}})
	err := h.Configure(map[string]any{"strat": 1})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `unknown field "strat"`) {
		t.Errorf("Configure with a misspelt key = %v, want InvalidArgument naming the field", err)
	}
}

func TestConfigDecode(t *testing.T) {
	type cfg struct {
		Start int    `json:"start"`
		Name  string `json:"name"`
	}
	c := cfg{Start: 7, Name: "default"}
	if err := sdk.NewConfig("p", nil).Decode(&c); err != nil || c.Start != 7 {
		t.Errorf("empty config changed defaults: %+v, %v", c, err)
	}
	if err := sdk.NewConfig("p", []byte(`{"start": 3}`)).Decode(&c); err != nil || c.Start != 3 || c.Name != "default" {
		t.Errorf("Decode = %+v, %v", c, err)
	}
	if !sdk.NewConfig("p", []byte(" null ")).Empty() || sdk.NewConfig("p", []byte("{}")).Empty() {
		t.Error("Empty is wrong")
	}
}

// Sharded serves one endpoint per configured namespace.
type Sharded struct {
	mu     sync.Mutex
	closed bool
}

type Shard struct{ name string }

func (s *Shard) Whoami(context.Context) (string, error) { return s.name, nil }

func (p *Sharded) Configure(ctx context.Context, cfg sdk.Config) ([]sdk.Endpoint, error) {
	var c struct {
		Shards  []string `json:"shards"`
		Version string   `json:"version"`
	}
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	sdk.Logger(ctx).Info("configuring", "shards", len(c.Shards), "plugin", cfg.PluginName)
	if len(c.Shards) == 0 {
		return nil, errors.New("no shards configured")
	}
	var eps []sdk.Endpoint
	for _, s := range c.Shards {
		eps = append(eps, sdk.Endpoint{Namespace: s, Version: c.Version, Impl: &Shard{name: s}})
	}
	return eps, nil
}

func (p *Sharded) Close(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

func TestServePluginDecidesEndpointsFromConfig(t *testing.T) {
	p := &Sharded{}
	h := sdktest.NewPlugin(t, p)
	if err := h.Configure(map[string]any{"shards": []string{"a", "b"}, "version": "2.1"}); err != nil {
		t.Fatal(err)
	}
	eps, err := h.Describe()
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 2 || eps[0].Namespace != "a" || eps[1].Namespace != "b" || eps[1].Version != "2.1" {
		t.Fatalf("Describe = %+v", eps)
	}
	var got string
	if err := h.Call(context.Background(), "whoami", nil, &got, sdktest.Namespace("b"), sdktest.Version("2.0")); err != nil || got != "b" {
		t.Errorf("whoami in b = %q, %v", got, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		t.Error("plugin not closed")
	}
}

func TestServePluginConfigureError(t *testing.T) {
	h := sdktest.NewPlugin(t, sdk.PluginFunc(func(context.Context, sdk.Config) ([]sdk.Endpoint, error) {
		return nil, errors.New("no database")
	}))
	if err := h.Configure(nil); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no database") {
		t.Errorf("Configure = %v", err)
	}
	h2 := sdktest.NewPlugin(t, sdk.PluginFunc(func(context.Context, sdk.Config) ([]sdk.Endpoint, error) {
		panic("configure exploded")
	}))
	if err := h2.Configure(nil); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "plugin panic: configure exploded") {
		t.Errorf("Configure = %v", err)
	}
	h3 := sdktest.NewPlugin(t, sdk.PluginFunc(func(context.Context, sdk.Config) ([]sdk.Endpoint, error) {
		return nil, nil
	}))
	if err := h3.Configure(nil); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "no endpoints") {
		t.Errorf("Configure = %v", err)
	}
}

func TestNotConfigured(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: &Calc{}})
	ctx := context.Background()
	if _, err := h.Client().Describe(ctx); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Describe = %v, want FailedPrecondition", err)
	}
	if _, err := h.Client().Invoke(ctx, &pluginv1.InvokeRequest{Method: "add"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Invoke = %v, want FailedPrecondition", err)
	}
}

// V1 and V2 are endpoints with overlapping methods, to check routing.
type V1 struct{}

func (V1) Echo(context.Context) (string, error) { return "v1", nil }

type V2 struct{}

func (V2) Echo(context.Context) (string, error)   { return "v2", nil }
func (V2) V2meth(context.Context) (string, error) { return "v2meth", nil }

func TestRouting(t *testing.T) {
	h := sdktest.New(t,
		sdk.Endpoint{Impl: V1{}},
		sdk.Endpoint{Version: "2.1", Impl: V2{}},
		sdk.Endpoint{Namespace: "ns1", Version: "1.3", Impl: V2{}},
	)
	tests := []struct {
		name, ns, version, method string
		want                      string // result, or "Class: message"
	}{
		{"default", "", "", "echo", "v1"},
		{"v2.0 picks 2.1", "", "2.0", "echo", "v2"},
		{"v1.1 unsupported", "", "1.1", "echo", "UnsupportedVersion: Endpoint does not support RPC version 1.1. Attempted method: echo"},
		{"v2meth at 1.0", "", "1.0", "v2meth", "NoSuchMethod: Endpoint does not support RPC method v2meth"},
		{"unknown method", "", "", "does_not_exist", "NoSuchMethod: Endpoint does not support RPC method does_not_exist"},
		{"private method", "", "", "_private", "NoSuchMethod: Endpoint does not support RPC method _private"},
		{"ns1 1.2", "ns1", "1.2", "v2meth", "v2meth"},
		{"ns1 1.4", "ns1", "1.4", "vmeth", "UnsupportedVersion: Endpoint does not support RPC version 1.4. Attempted method: vmeth"},
		{"unknown ns", "nope", "", "echo", "UnsupportedVersion: Endpoint does not support RPC version 1.0. Attempted method: echo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			err := h.Call(context.Background(), tt.method, nil, &got, sdktest.Namespace(tt.ns), sdktest.Version(tt.version))
			if err != nil {
				re := remote(t, err)
				if re.Module != "oslo_messaging.rpc.dispatcher" {
					t.Errorf("module %q", re.Module)
				}
				got = re.Class + ": " + re.Message
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPluginSideRoutingFailures(t *testing.T) {
	// The host routes; the plugin still answers a request for an endpoint or
	// method it does not have with the dispatcher's failures.
	h := sdktest.New(t, sdk.Endpoint{Impl: V1{}})
	if _, err := h.Describe(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		req   *pluginv1.InvokeRequest
		class string
	}{
		{&pluginv1.InvokeRequest{Version: "1.0", Method: "nope"}, "NoSuchMethod"},
		{&pluginv1.InvokeRequest{Namespace: "x", Version: "1.0", Method: "echo"}, "UnsupportedVersion"},
		{&pluginv1.InvokeRequest{Version: "3.0", Method: "echo", RequestVersion: "3.0"}, "UnsupportedVersion"},
	}
	for _, tt := range tests {
		resp, err := h.Client().Invoke(context.Background(), tt.req)
		if err != nil {
			t.Fatal(err)
		}
		if f := resp.GetFailure(); f == nil || f.GetClassName() != tt.class || f.GetModule() != "oslo_messaging.rpc.dispatcher" {
			t.Errorf("Invoke(%v) = %v, want %s", tt.req, resp, tt.class)
		}
	}
}

// Slow blocks until released, to check calls run concurrently.
type Slow struct {
	started chan struct{}
	release chan struct{}
}

func (s *Slow) Block(ctx context.Context) (string, error) {
	s.started <- struct{}{}
	select {
	case <-s.release:
		return "done", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestConcurrentCalls(t *testing.T) {
	const n = 8
	s := &Slow{started: make(chan struct{}, n), release: make(chan struct{})}
	h := sdktest.New(t, sdk.Endpoint{Impl: s})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() { errs <- h.Call(ctx, "block", nil, nil) }()
	}
	for range n {
		select {
		case <-s.started:
		case <-ctx.Done():
			t.Fatal("calls did not run concurrently")
		}
	}
	close(s.release)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Big returns a large result, to check the message size cap.
type Big struct{}

type BigArgs struct {
	Size int `json:"size"`
}

func (Big) Make(_ context.Context, a BigArgs) (string, error) {
	return strings.Repeat("x", a.Size), nil
}

func TestMessageSize(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: Big{}})
	var got string
	if err := h.Call(context.Background(), "make", BigArgs{Size: 8 << 20}, &got); err != nil || len(got) != 8<<20 {
		t.Fatalf("8 MiB result (over gRPC's 4 MiB default): len %d, %v", len(got), err)
	}
	small := sdktest.NewPlugin(t, sdk.Static(sdk.Endpoint{Impl: Big{}}), sdktest.MaxMessageSize(1<<20))
	err := small.Call(context.Background(), "make", BigArgs{Size: 2 << 20}, &got)
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("2 MiB result with a 1 MiB cap = %v, want ResourceExhausted", err)
	}
}
