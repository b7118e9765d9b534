package pluginv1_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// streamer is a plugin that implements InvokeStream as the SDK does (each
// call in its own goroutine, results sent as they come) with methods:
//
//	echo      returns the args after sleeping args-as-integer microseconds
//	deadline  returns its context's deadline in Unix nanoseconds (0: none)
//	block     reports its id on started, waits for its context to end and
//	          reports the context's error on ended
//	break     ends the stream with an error
//
// It counts the streams opened and the unary Invoke calls.
type streamer struct {
	pluginv1.UnimplementedEndpointServer

	opened  atomic.Int32
	unary   atomic.Int32
	started chan uint64
	ended   chan error
	cancels chan uint64
}

func newStreamer() *streamer {
	return &streamer{started: make(chan uint64, 100), ended: make(chan error, 100), cancels: make(chan uint64, 100)}
}

func (s *streamer) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	s.unary.Add(1)
	return s.call(ctx, 0, req)
}

func (s *streamer) call(ctx context.Context, id uint64, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	result := func(b []byte) *pluginv1.InvokeResponse {
		return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_ResultJson{ResultJson: b}}
	}
	switch req.GetMethod() {
	case "echo":
		if us, err := strconv.Atoi(string(req.GetArgsJson())); err == nil {
			time.Sleep(time.Duration(us) * time.Microsecond)
		}
		return result(req.GetArgsJson()), nil
	case "deadline":
		d, _ := ctx.Deadline()
		if d.IsZero() {
			return result([]byte("0")), nil
		}
		return result([]byte(strconv.FormatInt(d.UnixNano(), 10))), nil
	case "block":
		s.started <- id
		<-ctx.Done()
		s.ended <- ctx.Err()
		return result([]byte("null")), nil
	}
	return nil, status.Errorf(codes.NotFound, "no method %q", req.GetMethod())
}

func (s *streamer) InvokeStream(stream pluginv1.Endpoint_InvokeStreamServer) error {
	s.opened.Add(1)
	var (
		wg     sync.WaitGroup
		sendMu sync.Mutex
		mu     sync.Mutex
		calls  = map[uint64]context.CancelFunc{}
		broken atomic.Bool // no more results: as if the plugin died
	)
	defer wg.Wait() // after cancelAll
	ctx, cancelAll := context.WithCancel(stream.Context())
	defer cancelAll()
	for {
		f, err := stream.Recv()
		if err != nil {
			return err
		}
		if f.GetCancel() {
			s.cancels <- f.GetId()
			mu.Lock()
			if c := calls[f.GetId()]; c != nil {
				c()
			}
			mu.Unlock()
			continue
		}
		req := f.GetRequest()
		if req.GetMethod() == "break" {
			broken.Store(true)
			return status.Error(codes.Internal, "broken on purpose")
		}
		cctx, cancel := context.WithCancel(ctx)
		if d, ok := f.Deadline(); ok {
			cctx, cancel = context.WithDeadline(ctx, d)
		}
		mu.Lock()
		calls[f.GetId()] = cancel
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			resp, err := s.call(cctx, f.GetId(), req)
			res := &pluginv1.InvokeResult{Id: f.GetId()}
			if err != nil {
				st := status.Convert(err)
				res.Outcome = &pluginv1.InvokeResult_Error{Error: &pluginv1.CallError{Code: uint32(st.Code()), Message: st.Message()}}
			} else {
				res.Outcome = &pluginv1.InvokeResult_Response{Response: resp}
			}
			sendMu.Lock()
			defer sendMu.Unlock()
			if !broken.Load() {
				_ = stream.Send(res)
			}
		}()
	}
}

// serveConn is serve with the connection returned, for tests that close it,
// and client options.
func serveConn(t *testing.T, impl pluginv1.EndpointServer, maxSize int, opts ...pluginv1.ClientOption) (pluginv1.Endpoint, *grpc.ClientConn) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(pluginv1.ServerOptions(maxSize)...)
	pluginv1.RegisterEndpointServer(srv, impl)
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
	return pluginv1.NewClient(conn, append([]pluginv1.ClientOption{pluginv1.WithMaxMessageSize(maxSize)}, opts...)...), conn
}

func echoReq(args string) *pluginv1.InvokeRequest {
	return &pluginv1.InvokeRequest{Version: "1.0", Method: "echo", ArgsJson: []byte(args)}
}

func TestInvokeStreamConcurrent(t *testing.T) {
	s := newStreamer()
	ep, _ := serveConn(t, s, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			// Later calls sleep less: results come back out of order.
			args := strconv.Itoa((n - i) * 20)
			resp, err := ep.Invoke(ctx, echoReq(args))
			if err == nil && string(resp.GetResultJson()) != args {
				err = fmt.Errorf("call %s got %q", args, resp.GetResultJson())
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := s.opened.Load(); got != 1 {
		t.Errorf("%d streams opened, want 1", got)
	}
	if got := s.unary.Load(); got != 0 {
		t.Errorf("%d unary calls, want 0", got)
	}
	// The plugin's gRPC errors come back as they would from unary Invoke.
	if _, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "nope"}); status.Code(err) != codes.NotFound || status.Convert(err).Message() != `no method "nope"` {
		t.Errorf("unknown method = %v, want the plugin's NotFound", err)
	}
}

func TestInvokeStreamDeadline(t *testing.T) {
	ep, _ := serveConn(t, newStreamer(), 0)
	req := &pluginv1.InvokeRequest{Method: "deadline"}
	resp, err := ep.Invoke(context.Background(), req)
	if err != nil || string(resp.GetResultJson()) != "0" {
		t.Errorf("without deadline: %s, %v", resp.GetResultJson(), err)
	}
	// The host's context deadline travels in the frame (req has none).
	d := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), d)
	defer cancel()
	resp, err = ep.Invoke(ctx, req)
	if err != nil || string(resp.GetResultJson()) != strconv.FormatInt(d.UnixNano(), 10) {
		t.Errorf("with deadline %d: %s, %v", d.UnixNano(), resp.GetResultJson(), err)
	}
	// An expired context fails as unary Invoke does, without a call.
	past, cancelPast := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPast()
	if _, err := ep.Invoke(past, req); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("expired context = %v, want DeadlineExceeded", err)
	}
}

func TestInvokeStreamCancel(t *testing.T) {
	s := newStreamer()
	ep, _ := serveConn(t, s, 0)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "block"})
		errc <- err
	}()
	id := recvWithin(t, s.started)
	cancel()
	if err := recvWithin(t, errc); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled call = %v, want Canceled", err)
	}
	if got := recvWithin(t, s.cancels); got != id {
		t.Errorf("cancel frame for id %d, want %d", got, id)
	}
	if err := recvWithin(t, s.ended); err != context.Canceled {
		t.Errorf("plugin call's context ended with %v, want Canceled", err)
	}

	// The host's deadline passing ends the call the same way.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, err := ep.Invoke(dctx, &pluginv1.InvokeRequest{Method: "block"}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("call past its deadline = %v, want DeadlineExceeded", err)
	}
	recvWithin(t, s.started)
	if err := recvWithin(t, s.ended); err == nil {
		t.Error("plugin call's context did not end")
	}

	// The stream is still good.
	if resp, err := ep.Invoke(context.Background(), echoReq("1")); err != nil || string(resp.GetResultJson()) != "1" {
		t.Errorf("call after cancellations: %v, %v", resp, err)
	}
	if got := s.opened.Load(); got != 1 {
		t.Errorf("%d streams opened, want 1", got)
	}
}

func TestInvokeStreamBreak(t *testing.T) {
	s := newStreamer()
	ep, _ := serveConn(t, s, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 5
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "block"})
			errs <- err
		}()
	}
	for range n {
		recvWithin(t, s.started)
	}
	if _, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "break"}); status.Code(err) != codes.Unavailable {
		t.Errorf("call breaking the stream = %v, want Unavailable", err)
	}
	for range n {
		if err := recvWithin(t, errs); status.Code(err) != codes.Unavailable {
			t.Errorf("pending call = %v, want Unavailable", err)
		}
		if err := recvWithin(t, s.ended); err != context.Canceled {
			t.Errorf("plugin call's context ended with %v, want Canceled", err)
		}
	}
	// The next call opens a new stream.
	if resp, err := ep.Invoke(ctx, echoReq("2")); err != nil || string(resp.GetResultJson()) != "2" {
		t.Fatalf("call after the break: %v, %v", resp, err)
	}
	if got := s.opened.Load(); got != 2 {
		t.Errorf("%d streams opened, want 2", got)
	}
}

// TestInvokeStreamConnClosed is go-plugin killing the plugin: the client's
// connection closes under pending calls, which fail with Unavailable, and
// the receiving goroutine ends.
func TestInvokeStreamConnClosed(t *testing.T) {
	before := goleak.IgnoreCurrent()
	s := newStreamer()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	pluginv1.RegisterEndpointServer(srv, s)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///test",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ep := pluginv1.NewClient(conn)
	errc := make(chan error, 1)
	go func() {
		_, err := ep.Invoke(context.Background(), &pluginv1.InvokeRequest{Method: "block"})
		errc <- err
	}()
	recvWithin(t, s.started)
	_ = conn.Close()
	if err := recvWithin(t, errc); status.Code(err) != codes.Unavailable {
		t.Errorf("pending call = %v, want Unavailable", err)
	}
	if _, err := ep.Invoke(context.Background(), echoReq("1")); err == nil {
		t.Error("call on a closed connection succeeded")
	}
	srv.Stop()
	<-done
	goleak.VerifyNone(t, before)
}

// TestInvokeUnaryFallback is a plugin built before InvokeStream existed:
// the client falls back to unary Invoke for good, for the calls made while
// it finds out too.
func TestInvokeUnaryFallback(t *testing.T) {
	var opened atomic.Int32
	count := grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		opened.Add(1)
		return h(srv, ss)
	})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(count)
	old := &unaryOnly{}
	pluginv1.RegisterEndpointServer(srv, old)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///test",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(); srv.Stop(); <-done })
	ep := pluginv1.NewClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			args := strconv.Itoa(i)
			resp, err := ep.Invoke(ctx, echoReq(args))
			if err == nil && string(resp.GetResultJson()) != args {
				err = fmt.Errorf("call %s got %q", args, resp.GetResultJson())
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for i := range 5 {
		if _, err := ep.Invoke(ctx, echoReq(strconv.Itoa(i))); err != nil {
			t.Error(err)
		}
	}
	if got := old.calls.Load(); got != n+5 {
		t.Errorf("plugin ran %d calls, want %d (each once)", got, n+5)
	}
	if got := opened.Load(); got != 1 {
		t.Errorf("InvokeStream tried %d times, want 1", got)
	}
}

// unaryOnly implements Invoke only, as a plugin built before InvokeStream.
type unaryOnly struct {
	pluginv1.UnimplementedEndpointServer
	calls atomic.Int32
}

func (u *unaryOnly) Invoke(_ context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
	u.calls.Add(1)
	return &pluginv1.InvokeResponse{Outcome: &pluginv1.InvokeResponse_ResultJson{ResultJson: req.GetArgsJson()}}, nil
}

func TestInvokeUnarySwitch(t *testing.T) {
	tests := []struct {
		name string
		env  string
		opts []pluginv1.ClientOption
		want int32 // streams opened
	}{
		{"default", "", nil, 1},
		{"env 0", "0", nil, 1},
		{"env", "1", nil, 0},
		{"option", "", []pluginv1.ClientOption{pluginv1.WithUnaryInvoke()}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(pluginv1.EnvUnary, tt.env)
			s := newStreamer()
			ep, _ := serveConn(t, s, 0, tt.opts...)
			if _, err := ep.Invoke(context.Background(), echoReq("1")); err != nil {
				t.Fatal(err)
			}
			if got := s.opened.Load(); got != tt.want {
				t.Errorf("%d streams opened, want %d", got, tt.want)
			}
			if got, want := s.unary.Load(), 1-tt.want; got != want {
				t.Errorf("%d unary calls, want %d", got, want)
			}
		})
	}
}

// TestInvokeStreamLargeRequest: a request over the stream's frame limit
// goes unary, and one over the size cap fails alone with gRPC's
// ResourceExhausted, the stream unharmed.
func TestInvokeStreamLargeRequest(t *testing.T) {
	s := newStreamer()
	ep, _ := serveConn(t, s, 4<<20)
	ctx := context.Background()
	big := `"` + string(bytes.Repeat([]byte("y"), 2<<20)) + `"`
	if resp, err := ep.Invoke(ctx, echoReq(big)); err != nil || len(resp.GetResultJson()) != len(big) {
		t.Fatalf("2 MiB request: %v", err)
	}
	if s.unary.Load() != 1 {
		t.Errorf("2 MiB request: %d unary calls, want 1", s.unary.Load())
	}
	huge := `"` + string(bytes.Repeat([]byte("y"), 5<<20)) + `"`
	if _, err := ep.Invoke(ctx, echoReq(huge)); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("5 MiB request with a 4 MiB cap = %v, want ResourceExhausted", err)
	}
	if resp, err := ep.Invoke(ctx, echoReq("3")); err != nil || string(resp.GetResultJson()) != "3" {
		t.Errorf("small request: %v, %v", resp, err)
	}
	if got := s.opened.Load(); got != 1 {
		t.Errorf("%d streams opened, want 1", got)
	}
}

// recvWithin receives from ch or fails the test after 10 seconds.
func recvWithin[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}
