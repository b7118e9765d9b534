package sdk

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// streamGate has methods that block until released or cancelled.
type streamGate struct {
	started chan string
	ended   chan error
	release chan struct{}
}

type gateArgs struct {
	Name string `json:"name,omitempty"`
	Size int    `json:"size,omitempty"`
}

func (g *streamGate) Hold(ctx context.Context, a gateArgs) (string, error) {
	g.started <- a.Name
	select {
	case <-g.release:
		g.ended <- nil
		return a.Name, nil
	case <-ctx.Done():
		g.ended <- ctx.Err()
		return "", ctx.Err()
	}
}

func (g *streamGate) Big(_ context.Context, a gateArgs) (string, error) {
	return strings.Repeat("x", a.Size), nil
}

// infoOnly handles info notifications, failing those of event type "bad".
type infoOnly struct{}

func (infoOnly) Info(_ context.Context, n Notification) error {
	if n.EventType == "bad" {
		return errors.New("bad event")
	}
	return nil
}

// fakeStream is the plugin's end of a Calls stream: Recv reads frames until
// frames is closed (io.EOF) or recvErr has an error; Send records results.
type fakeStream struct {
	grpc.ServerStream
	ctx     context.Context
	frames  chan *pluginv1.CallFrame
	recvErr chan error
	sent    chan *pluginv1.CallResult
}

func newFakeStream() *fakeStream {
	return &fakeStream{
		ctx:     context.Background(),
		frames:  make(chan *pluginv1.CallFrame),
		recvErr: make(chan error, 1),
		sent:    make(chan *pluginv1.CallResult, 10),
	}
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) Recv() (*pluginv1.CallFrame, error) {
	select {
	case fr, ok := <-f.frames:
		if !ok {
			return nil, io.EOF
		}
		return fr, nil
	case err := <-f.recvErr:
		return nil, err
	}
}

func (f *fakeStream) Send(r *pluginv1.CallResult) error {
	f.sent <- r
	return nil
}

func startFrame(id uint64, method, args string) *pluginv1.CallFrame {
	return &pluginv1.CallFrame{Id: id, Op: &pluginv1.CallFrame_Invoke{Invoke: &pluginv1.InvokeRequest{
		Version: "1.0", Method: method, ArgsJson: []byte(args),
	}}}
}

// serveFakeStream configures a server of g and runs its Calls on a fake
// stream; the returned channel gets Calls's error.
func serveFakeStream(t *testing.T, g *streamGate, maxSize int) (*fakeStream, <-chan error) {
	t.Helper()
	s := newServer(StaticAll(Endpoint{Impl: g}, Notifications{Name: "info", Impl: infoOnly{}}), hclog.NewNullLogger())
	if maxSize > 0 {
		s.maxSize = maxSize
	}
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{PluginName: "gate"}); err != nil {
		t.Fatal(err)
	}
	fs := newFakeStream()
	done := make(chan error, 1)
	go func() { done <- s.Calls(fs) }()
	return fs, done
}

func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

func newGate() *streamGate {
	return &streamGate{started: make(chan string, 10), ended: make(chan error, 10), release: make(chan struct{})}
}

func TestCallsCancelFrame(t *testing.T) {
	g := newGate()
	fs, done := serveFakeStream(t, g, 0)
	fs.frames <- startFrame(7, "hold", `{"name":"a"}`)
	within(t, g.started)
	fs.frames <- &pluginv1.CallFrame{Id: 99, Op: &pluginv1.CallFrame_Cancel{Cancel: true}} // unknown: ignored
	fs.frames <- &pluginv1.CallFrame{Id: 7, Op: &pluginv1.CallFrame_Cancel{Cancel: true}}
	if err := within(t, g.ended); !errors.Is(err, context.Canceled) {
		t.Errorf("call ended with %v, want Canceled", err)
	}
	if r := within(t, fs.sent); r.GetId() != 7 || r.GetInvoke().GetFailure() == nil {
		t.Errorf("result %v, want call 7's failure", r)
	}
	close(fs.frames)
	if err := within(t, done); err != nil {
		t.Errorf("Calls = %v", err)
	}
}

// TestCallsEnd: when the host closes its side, running calls finish
// and their results are sent; when the stream breaks, they are cancelled.
// Calls returns only after its calls.
func TestCallsEnd(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		g := newGate()
		fs, done := serveFakeStream(t, g, 0)
		fs.frames <- startFrame(1, "hold", `{"name":"a"}`)
		within(t, g.started)
		close(fs.frames)
		select {
		case err := <-done:
			t.Fatalf("Calls returned %v with a call running", err)
		case <-time.After(20 * time.Millisecond):
		}
		close(g.release)
		if r := within(t, fs.sent); r.GetId() != 1 || string(r.GetInvoke().GetResultJson()) != `"a"` {
			t.Errorf("result %v, want call 1's", r)
		}
		if err := within(t, done); err != nil {
			t.Errorf("Calls = %v", err)
		}
	})
	t.Run("broken", func(t *testing.T) {
		g := newGate()
		fs, done := serveFakeStream(t, g, 0)
		fs.frames <- startFrame(1, "hold", `{"name":"a"}`)
		fs.frames <- startFrame(2, "hold", `{"name":"b"}`)
		within(t, g.started)
		within(t, g.started)
		broken := errors.New("connection reset")
		fs.recvErr <- broken
		for range 2 {
			if err := within(t, g.ended); !errors.Is(err, context.Canceled) {
				t.Errorf("call ended with %v, want Canceled", err)
			}
		}
		if err := within(t, done); err != broken {
			t.Errorf("Calls = %v, want %v", err, broken)
		}
	})
}

func TestCallsDeadlineAndErrors(t *testing.T) {
	g := newGate()
	fs, done := serveFakeStream(t, g, 1<<20)
	// The frame's deadline bounds the call as gRPC's would.
	f := startFrame(1, "hold", `{"name":"a"}`)
	f.DeadlineUnixNano = time.Now().Add(20 * time.Millisecond).UnixNano()
	fs.frames <- f
	within(t, g.started)
	if err := within(t, g.ended); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call ended with %v, want DeadlineExceeded", err)
	}
	within(t, fs.sent)
	// A result over the size cap fails alone, as a unary gRPC call would.
	fs.frames <- startFrame(2, "big", `{"size":2000000}`)
	if r := within(t, fs.sent); r.GetId() != 2 || codes.Code(r.GetError().GetCode()) != codes.ResourceExhausted {
		t.Errorf("2 MB result with a 1 MiB cap = %v, want ResourceExhausted", r)
	}
	// gRPC errors of Invoke travel as CallError.
	bad := startFrame(3, "hold", `{}`)
	bad.GetInvoke().ContextJson = []byte("[")
	fs.frames <- bad
	if r := within(t, fs.sent); r.GetId() != 3 || codes.Code(r.GetError().GetCode()) != codes.InvalidArgument {
		t.Errorf("bad context = %v, want InvalidArgument", r)
	}
	fs.frames <- startFrame(4, "big", `{"size":3}`)
	if r := within(t, fs.sent); r.GetId() != 4 || string(r.GetInvoke().GetResultJson()) != `"xxx"` {
		t.Errorf("result %v, want call 4's", r)
	}
	close(fs.frames)
	if err := within(t, done); err != nil {
		t.Errorf("Calls = %v", err)
	}
}

// TestCallsNotifyFrame: a notify frame runs the handler and comes back as
// one result of the same id, beside a running invocation.
func TestCallsNotifyFrame(t *testing.T) {
	g := newGate()
	fs, done := serveFakeStream(t, g, 0)
	fs.frames <- startFrame(1, "hold", `{"name":"a"}`)
	within(t, g.started)
	fs.frames <- &pluginv1.CallFrame{Id: 2, Op: &pluginv1.CallFrame_Notify{Notify: &pluginv1.NotifyRequest{
		Handler: "info", Notifications: []*pluginv1.Notification{{Priority: "info", EventType: "ok"}, {Priority: "info", EventType: "bad"}},
	}}}
	r := within(t, fs.sent)
	if rs := r.GetNotify().GetResults(); r.GetId() != 2 || len(rs) != 2 ||
		rs[0].GetOutcome() != pluginv1.NotifyResult_HANDLED || rs[1].GetOutcome() != pluginv1.NotifyResult_REQUEUE {
		t.Errorf("result %v, want call 2's HANDLED, REQUEUE", r)
	}
	fs.frames <- &pluginv1.CallFrame{Id: 3, Op: &pluginv1.CallFrame_Notify{Notify: &pluginv1.NotifyRequest{Handler: "nope"}}}
	if r := within(t, fs.sent); r.GetId() != 3 || codes.Code(r.GetError().GetCode()) != codes.NotFound {
		t.Errorf("unknown handler = %v, want NotFound", r)
	}
	close(g.release)
	if r := within(t, fs.sent); r.GetId() != 1 || string(r.GetInvoke().GetResultJson()) != `"a"` {
		t.Errorf("result %v, want call 1's", r)
	}
	close(fs.frames)
	if err := within(t, done); err != nil {
		t.Errorf("Calls = %v", err)
	}
}
