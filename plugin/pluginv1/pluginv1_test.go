package pluginv1_test

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fake records what it receives and answers from fixed values; it serves
// its Invoke and Notify on the Calls stream with pluginv1.ServeCalls and
// its results capped at maxSize (0: the default), as the SDK does.
type fake struct {
	pluginv1.UnimplementedEndpointServer
	maxSize    int
	configured *pluginv1.ConfigureRequest
	invoked    *pluginv1.InvokeRequest
	notified   *pluginv1.NotifyRequest
	deadline   time.Time
	closed     int
}

func (f *fake) Configure(_ context.Context, req *pluginv1.ConfigureRequest) (*pluginv1.ConfigureResponse, error) {
	if len(req.GetConfigJson()) > 0 && req.GetConfigJson()[0] != '{' {
		return nil, status.Error(codes.InvalidArgument, "config is not an object")
	}
	f.configured = req
	return &pluginv1.ConfigureResponse{}, nil
}

func (f *fake) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.DescribeResponse, error) {
	return &pluginv1.DescribeResponse{
		PluginVersion: "v0.1.0",
		Endpoints: []*pluginv1.EndpointInfo{
			{Version: "1.0", Methods: []string{"add", "echo"}},
			{Namespace: "ns", Version: "2.1", Methods: []string{"big"}, LegacyNamespaces: []string{"old"}},
		},
		NotificationHandlers: []*pluginv1.NotificationHandlerInfo{
			{Name: "audit", Priorities: []string{"info", "error"}, Batch: true},
		},
	}, nil
}

func (f *fake) Calls(stream pluginv1.Endpoint_CallsServer) error {
	return pluginv1.ServeCalls(stream, f, f.maxSize)
}

func (f *fake) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	f.invoked = req
	f.deadline, _ = ctx.Deadline()
	switch req.GetMethod() {
	case "echo":
		return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_ResultJson{ResultJson: req.GetArgsJson()}}, nil
	case "big":
		return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_ResultJson{ResultJson: bytes.Repeat([]byte("x"), 6<<20)}}, nil
	}
	return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_Failure{Failure: &pluginv1.Failure{
		ClassName: "ValueError", Module: "builtins", Message: "bad",
		Traceback: []string{"Traceback (most recent call last):\n", "ValueError: bad\n"},
		ArgsJson:  []byte(`["bad"]`), KwargsJson: []byte(`{}`), Expected: true,
	}}}, nil
}

func (f *fake) Notify(ctx context.Context, req *pluginv1.NotifyRequest) (*pluginv1.NotifyResponse, error) {
	f.notified = req
	f.deadline, _ = ctx.Deadline()
	if req.GetHandler() != "audit" && req.GetHandler() != "short" {
		return nil, status.Errorf(codes.NotFound, "no notification handler %q", req.GetHandler())
	}
	resp := &pluginv1.NotifyResponse{}
	for _, n := range req.GetNotifications() {
		r := &pluginv1.NotifyResult{}
		if n.GetPriority() == "error" {
			r = &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_REQUEUE, Error: "boom"}
		}
		resp.Results = append(resp.Results, r)
	}
	if req.GetHandler() == "short" {
		resp.Results = resp.Results[:len(resp.Results)-1]
	}
	return resp, nil
}

func (f *fake) Close(context.Context, *pluginv1.CloseRequest) (*pluginv1.CloseResponse, error) {
	f.closed++
	return &pluginv1.CloseResponse{}, nil
}

// serve runs impl behind a real gRPC server on an in-memory connection, with
// the go-plugin glue of both sides and the size cap, and returns the host's view.
func serve(t *testing.T, impl pluginv1.EndpointServer, maxSize int) pluginv1.Endpoint {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(pluginv1.ServerOptions(maxSize)...)
	p := pluginv1.PluginMap(impl)[pluginv1.PluginName].(plugin.GRPCPlugin)
	if err := p.GRPCServer(nil, srv); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///test", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, pluginv1.DialOptions(maxSize)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(); srv.Stop(); <-done })
	// The host's glue, as ClientConfig makes it: its client caps its
	// frames at maxSize too.
	hostSide := pluginv1.ClientConfig(exec.Command("true"), nil, pluginv1.WithMaxMessageSize(maxSize)).Plugins[pluginv1.PluginName]
	raw, err := hostSide.(plugin.GRPCPlugin).GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(pluginv1.Endpoint)
}

func TestRoundTrip(t *testing.T) {
	f := &fake{}
	ep := serve(t, f, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := ep.Configure(ctx, "calc", []byte(`{"start":1}`)); err != nil {
		t.Fatal(err)
	}
	if f.configured.GetPluginName() != "calc" || string(f.configured.GetConfigJson()) != `{"start":1}` {
		t.Errorf("Configure sent %v", f.configured)
	}
	if err := ep.Configure(ctx, "calc", []byte(`[]`)); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Configure error = %v, want the plugin's InvalidArgument", err)
	}

	d, err := ep.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.GetEndpoints()) != 2 || d.GetEndpoints()[1].GetNamespace() != "ns" || d.GetPluginVersion() != "v0.1.0" ||
		!slices.Equal(d.GetEndpoints()[1].GetLegacyNamespaces(), []string{"old"}) {
		t.Errorf("Describe = %v", d)
	}
	if hs := d.GetNotificationHandlers(); len(hs) != 1 || hs[0].GetName() != "audit" || !hs[0].GetBatch() ||
		!slices.Equal(hs[0].GetPriorities(), []string{"info", "error"}) {
		t.Errorf("Describe notification handlers = %v", hs)
	}

	deadline := time.Now().Add(time.Minute).Truncate(time.Nanosecond)
	req := &pluginv1.InvokeRequest{
		Namespace: "", Version: "1.0", Method: "echo",
		ContextJson: []byte(`{"user_id":"u"}`), ArgsJson: []byte(`{"v":1}`),
		MsgId: "m1", RequestVersion: "1.0",
	}
	req.SetDeadline(deadline)
	callCtx, cancelCall := context.WithDeadline(ctx, deadline)
	defer cancelCall()
	resp, err := ep.Invoke(callCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.GetResultJson()) != `{"v":1}` {
		t.Errorf("result %q", resp.GetResultJson())
	}
	if !proto.Equal(f.invoked, req) {
		t.Errorf("plugin got %v, want %v", f.invoked, req)
	}
	if got, ok := f.invoked.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("request deadline %v, want %v", got, deadline)
	}
	if f.deadline.IsZero() || f.deadline.After(deadline) {
		t.Errorf("gRPC deadline %v, want at most %v", f.deadline, deadline)
	}

	resp, err = ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "fail"})
	if err != nil {
		t.Fatal(err)
	}
	fl := resp.GetFailure()
	if fl.GetClassName() != "ValueError" || fl.GetModule() != "builtins" || !fl.GetExpected() || len(fl.GetTraceback()) != 2 {
		t.Errorf("failure = %v", fl)
	}

	if err := ep.Close(ctx); err != nil || f.closed != 1 {
		t.Errorf("Close = %v, closed %d", err, f.closed)
	}
}

func TestNotifyRoundTrip(t *testing.T) {
	f := &fake{}
	ep := serve(t, f, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	deadline := time.Now().Add(time.Minute)
	req := &pluginv1.NotifyRequest{
		Handler: "audit",
		Notifications: []*pluginv1.Notification{
			{
				Priority: "info", PublisherId: "compute.host1", EventType: "compute.instance.create.end",
				PayloadJson: []byte(`{"id":1}`), ContextJson: []byte(`{"user_id":"u"}`),
				MessageId: "6b1e3b57-0d0a-4d3c-9d4e-1b6f0c7f6d2a", Timestamp: "2024-01-02 03:04:05.678901",
				Redelivered: true, Attempts: 2,
			},
			{Priority: "error", EventType: "compute.instance.delete.end", PayloadJson: []byte(`"gone"`), MessageId: "m2"},
			{Priority: "info", PayloadJson: []byte(`null`), MessageId: "m3"},
		},
	}
	req.SetDeadline(deadline)
	callCtx, cancelCall := context.WithDeadline(ctx, deadline)
	defer cancelCall()
	resp, err := ep.Notify(callCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(f.notified, req) {
		t.Errorf("plugin got %v, want %v", f.notified, req)
	}
	if got, ok := f.notified.Deadline(); !ok || !got.Equal(time.Unix(0, deadline.UnixNano())) {
		t.Errorf("request deadline %v, want %v", got, deadline)
	}
	if f.deadline.IsZero() || f.deadline.After(deadline) {
		t.Errorf("gRPC deadline %v, want at most %v", f.deadline, deadline)
	}
	var got []string
	for _, r := range resp.GetResults() {
		got = append(got, r.GetOutcome().String()+":"+r.GetError())
	}
	if want := []string{"HANDLED:", "REQUEUE:boom", "HANDLED:"}; !slices.Equal(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}

	if _, err := ep.Notify(ctx, &pluginv1.NotifyRequest{Handler: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("Notify to an unknown handler = %v, want NotFound", err)
	}
	short := &pluginv1.NotifyRequest{Handler: "short", Notifications: req.GetNotifications()}
	if _, err := ep.Notify(ctx, short); status.Code(err) != codes.Internal {
		t.Errorf("Notify answered with too few results = %v, want Internal", err)
	}
}

// TestCallsUnimplemented is a plugin that does not serve the Calls stream
// (the handshake refuses a plugin of protocol version 1, so this is one
// that claims version 2 wrongly): its calls say so instead of reading as a
// broken connection.
func TestCallsUnimplemented(t *testing.T) {
	ep := serve(t, struct {
		pluginv1.UnimplementedEndpointServer
	}{}, 0)
	_, err := ep.Notify(context.Background(), &pluginv1.NotifyRequest{Handler: "x"})
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "rebuild it with the current oslohost SDK") {
		t.Errorf("Notify = %v, want Unimplemented, rebuild", err)
	}
	if _, err := ep.Invoke(context.Background(), &pluginv1.InvokeRequest{Method: "x"}); status.Code(err) != codes.Unimplemented {
		t.Errorf("Invoke = %v, want Unimplemented", err)
	}
}

func TestMessageSizeCap(t *testing.T) {
	ctx := context.Background()
	// 6 MiB is over gRPC's 4 MiB default: the default cap lets it through.
	resp, err := serve(t, &fake{}, 0).Invoke(ctx, &pluginv1.InvokeRequest{Method: "big"})
	if err != nil || len(resp.GetResultJson()) != 6<<20 {
		t.Fatalf("6 MiB result with the default cap: %v", err)
	}
	small := serve(t, &fake{maxSize: 1 << 20}, 1<<20)
	if _, err := small.Invoke(ctx, &pluginv1.InvokeRequest{Method: "big"}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("6 MiB result with a 1 MiB cap = %v, want ResourceExhausted", err)
	}
	args := bytes.Repeat([]byte("y"), 2<<20)
	if _, err := small.Invoke(ctx, &pluginv1.InvokeRequest{Method: "echo", ArgsJson: args}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("2 MiB request with a 1 MiB cap = %v, want ResourceExhausted", err)
	}
	// Those failed alone: the stream still serves.
	if resp, err := small.Invoke(ctx, &pluginv1.InvokeRequest{Method: "echo", ArgsJson: []byte("1")}); err != nil || string(resp.GetResultJson()) != "1" {
		t.Errorf("small request after the large ones: %v, %v", resp, err)
	}
}

func TestNotifyDeadlineHelpers(t *testing.T) {
	var r pluginv1.NotifyRequest
	if _, ok := r.Deadline(); ok {
		t.Error("zero request has a deadline")
	}
	d := time.Unix(1700000000, 123456789)
	r.SetDeadline(d)
	if got, ok := r.Deadline(); !ok || !got.Equal(d) || r.GetDeadlineUnixNano() != d.UnixNano() {
		t.Errorf("Deadline = %v, %v", got, ok)
	}
	r.SetDeadline(time.Time{})
	if r.GetDeadlineUnixNano() != 0 {
		t.Error("SetDeadline(zero) did not clear")
	}
}

func TestDeadlineHelpers(t *testing.T) {
	var r pluginv1.InvokeRequest
	if _, ok := r.Deadline(); ok {
		t.Error("zero request has a deadline")
	}
	d := time.Unix(1700000000, 123456789)
	r.SetDeadline(d)
	if got, ok := r.Deadline(); !ok || !got.Equal(d) || r.GetDeadlineUnixNano() != d.UnixNano() {
		t.Errorf("Deadline = %v, %v", got, ok)
	}
	r.SetDeadline(time.Time{})
	if r.GetDeadlineUnixNano() != 0 {
		t.Error("SetDeadline(zero) did not clear")
	}
}

func TestClientConfig(t *testing.T) {
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: &bytes.Buffer{}})
	cmd := exec.Command("/bin/true")
	cmd.Env = []string{"A=1"}
	cc := pluginv1.ClientConfig(cmd, logger, pluginv1.WithMaxMessageSize(1234))
	if cc.HandshakeConfig != pluginv1.Handshake || cc.Managed || cc.Cmd != cmd || cc.Logger != logger || !cc.SkipHostEnv {
		t.Errorf("ClientConfig = %+v", cc)
	}
	if !slices.Equal(cc.AllowedProtocols, []plugin.Protocol{plugin.ProtocolGRPC}) {
		t.Errorf("AllowedProtocols = %v", cc.AllowedProtocols)
	}
	if _, ok := cc.Plugins[pluginv1.PluginName]; !ok || len(cc.GRPCDialOptions) == 0 {
		t.Errorf("plugins %v, dial options %d", cc.Plugins, len(cc.GRPCDialOptions))
	}
	want := []string{"A=1", pluginv1.EnvMaxMessageSize + "=1234", pluginv1.EnvLogLevel + "=debug"}
	if !slices.Equal(cmd.Env, want) {
		t.Errorf("cmd.Env = %q, want %q", cmd.Env, want)
	}

	cmd = exec.Command("/bin/true")
	pluginv1.ClientConfig(cmd, nil)
	if len(cmd.Env) < 2 || !slices.Contains(cmd.Env, pluginv1.EnvMaxMessageSize+"=67108864") {
		t.Errorf("cmd.Env without explicit env = %q", cmd.Env)
	}
}

func TestMaxMessageSizeFromEnv(t *testing.T) {
	tests := []struct {
		env     string
		want    int
		wantErr bool
	}{
		{"", pluginv1.DefaultMaxMessageSize, false},
		{"1048576", 1 << 20, false},
		{"0", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(pluginv1.EnvMaxMessageSize, tt.env)
			got, err := pluginv1.MaxMessageSizeFromEnv()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("MaxMessageSizeFromEnv() = %d, %v", got, err)
			}
			if err != nil && !strings.Contains(err.Error(), pluginv1.EnvMaxMessageSize) {
				t.Errorf("error %v does not name the variable", err)
			}
		})
	}
}

func TestServeConfig(t *testing.T) {
	sc := pluginv1.ServeConfig(&fake{}, 0, hclog.NewNullLogger())
	if sc.HandshakeConfig != pluginv1.Handshake || sc.GRPCServer == nil || sc.Plugins[pluginv1.PluginName] == nil {
		t.Errorf("ServeConfig = %+v", sc)
	}
	s := sc.GRPCServer(nil)
	defer s.Stop()
}
