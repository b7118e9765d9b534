package pluginv1_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
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

// streamer is a plugin serving the Calls stream with pluginv1.ServeCalls,
// as the SDK does, with methods:
//
//	echo      returns the args after sleeping args-as-integer microseconds
//	deadline  returns its context's deadline in Unix nanoseconds (0: none)
//	block     waits for its context to end and reports the context's
//	          error on ended (its frame's id goes to started on receipt)
//	break     ends the stream with an error
//
// and the notification handler "count", which handles every notification
// after sleeping payload-as-integer microseconds. It counts the streams
// opened and records the cancel frames.
type streamer struct {
	pluginv1.UnimplementedEndpointServer

	opened  atomic.Int32
	started chan uint64
	ended   chan error
	cancels chan uint64
}

func newStreamer() *streamer {
	return &streamer{started: make(chan uint64, 100), ended: make(chan error, 100), cancels: make(chan uint64, 100)}
}

func (s *streamer) Invoke(ctx context.Context, req *pluginv1.InvokeRequest) (*pluginv1.InvokeResponse, error) {
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
		<-ctx.Done()
		s.ended <- ctx.Err()
		return result([]byte("null")), nil
	}
	return nil, status.Errorf(codes.NotFound, "no method %q", req.GetMethod())
}

func (s *streamer) Notify(_ context.Context, req *pluginv1.NotifyRequest) (*pluginv1.NotifyResponse, error) {
	if req.GetHandler() != "count" {
		return nil, status.Errorf(codes.NotFound, "no notification handler %q", req.GetHandler())
	}
	resp := &pluginv1.NotifyResponse{}
	for _, n := range req.GetNotifications() {
		if us, err := strconv.Atoi(string(n.GetPayloadJson())); err == nil {
			time.Sleep(time.Duration(us) * time.Microsecond)
		}
		resp.Results = append(resp.Results, &pluginv1.NotifyResult{Error: n.GetMessageId()})
	}
	return resp, nil
}

func (s *streamer) Calls(stream pluginv1.Endpoint_CallsServer) error {
	s.opened.Add(1)
	return pluginv1.ServeCalls(&tap{Endpoint_CallsServer: stream, s: s}, s, 0)
}

// tap is the plugin's end of a Calls stream as the streamer sees it: it
// reports block frames and cancel frames on receipt, and breaks the stream
// on a break frame (no more results go out, as if the plugin died).
type tap struct {
	pluginv1.Endpoint_CallsServer
	s      *streamer
	broken atomic.Bool
}

func (t *tap) Recv() (*pluginv1.CallFrame, error) {
	f, err := t.Endpoint_CallsServer.Recv()
	switch {
	case err != nil:
	case f.GetCancel():
		t.s.cancels <- f.GetId()
	case f.GetInvoke().GetMethod() == "block":
		t.s.started <- f.GetId()
	case f.GetInvoke().GetMethod() == "break":
		t.broken.Store(true)
		return nil, status.Error(codes.Internal, "broken on purpose")
	}
	return f, err
}

func (t *tap) Send(r *pluginv1.CallResult) error {
	if t.broken.Load() {
		return nil
	}
	return t.Endpoint_CallsServer.Send(r)
}

func echoReq(args string) *pluginv1.InvokeRequest {
	return &pluginv1.InvokeRequest{Version: "1.0", Method: "echo", ArgsJson: []byte(args)}
}

// TestCallsConcurrent: invocations and notifications share the one stream,
// concurrently and out of order, each result reaching its caller.
func TestCallsConcurrent(t *testing.T) {
	s := newStreamer()
	ep := serve(t, s, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const n = 200
	errs := make(chan error, 2*n)
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
		go func() {
			id := strconv.Itoa(i)
			req := &pluginv1.NotifyRequest{Handler: "count", Notifications: []*pluginv1.Notification{
				{MessageId: id + "a", PayloadJson: []byte(strconv.Itoa(i * 20))}, {MessageId: id + "b"}}}
			resp, err := ep.Notify(ctx, req)
			if err == nil && (resp.GetResults()[0].GetError() != id+"a" || resp.GetResults()[1].GetError() != id+"b") {
				err = fmt.Errorf("notify %s got %v", id, resp.GetResults())
			}
			errs <- err
		}()
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := s.opened.Load(); got != 1 {
		t.Errorf("%d streams opened, want 1", got)
	}
	// The plugin's gRPC errors come back as gRPC errors.
	if _, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{Method: "nope"}); status.Code(err) != codes.NotFound || status.Convert(err).Message() != `no method "nope"` {
		t.Errorf("unknown method = %v, want the plugin's NotFound", err)
	}
	if _, err := ep.Notify(ctx, &pluginv1.NotifyRequest{Handler: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown handler = %v, want the plugin's NotFound", err)
	}
}

func TestCallsDeadline(t *testing.T) {
	ep := serve(t, newStreamer(), 0)
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
	// An expired context fails as a unary gRPC call does, without a call.
	past, cancelPast := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPast()
	if _, err := ep.Invoke(past, req); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("expired context = %v, want DeadlineExceeded", err)
	}
}

func TestCallsCancel(t *testing.T) {
	s := newStreamer()
	ep := serve(t, s, 0)
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

func TestCallsBreak(t *testing.T) {
	s := newStreamer()
	ep := serve(t, s, 0)
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

// TestCallsConnClosed is go-plugin killing the plugin: the client's
// connection closes under pending calls, which fail with Unavailable, and
// the receiving goroutine ends.
func TestCallsConnClosed(t *testing.T) {
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

// TestCallsLargeRequest: a request of several MiB goes on the stream, and
// one over the size cap fails alone with gRPC's ResourceExhausted, the
// stream unharmed.
func TestCallsLargeRequest(t *testing.T) {
	s := newStreamer()
	ep := serve(t, s, 4<<20)
	ctx := context.Background()
	big := `"` + string(bytes.Repeat([]byte("y"), 3<<20)) + `"`
	if resp, err := ep.Invoke(ctx, echoReq(big)); err != nil || len(resp.GetResultJson()) != len(big) {
		t.Fatalf("3 MiB request: %v", err)
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
