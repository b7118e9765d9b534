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

// fakeStream is the plugin's end of an InvokeStream: Recv reads frames until
// frames is closed (io.EOF) or recvErr has an error; Send records results.
type fakeStream struct {
	grpc.ServerStream
	ctx     context.Context
	frames  chan *pluginv1.InvokeFrame
	recvErr chan error
	sent    chan *pluginv1.InvokeResult
}

func newFakeStream() *fakeStream {
	return &fakeStream{
		ctx:     context.Background(),
		frames:  make(chan *pluginv1.InvokeFrame),
		recvErr: make(chan error, 1),
		sent:    make(chan *pluginv1.InvokeResult, 10),
	}
}

func (f *fakeStream) Context() context.Context { return f.ctx }

func (f *fakeStream) Recv() (*pluginv1.InvokeFrame, error) {
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

func (f *fakeStream) Send(r *pluginv1.InvokeResult) error {
	f.sent <- r
	return nil
}

func startFrame(id uint64, method, args string) *pluginv1.InvokeFrame {
	return &pluginv1.InvokeFrame{Id: id, Op: &pluginv1.InvokeFrame_Request{Request: &pluginv1.InvokeRequest{
		Version: "1.0", Method: method, ArgsJson: []byte(args),
	}}}
}

// serveFakeStream configures a server of g and runs its InvokeStream on a
// fake stream; the returned channel gets InvokeStream's error.
func serveFakeStream(t *testing.T, g *streamGate, maxSize int) (*fakeStream, <-chan error) {
	t.Helper()
	s := newServer(Static(Endpoint{Impl: g}), hclog.NewNullLogger())
	if maxSize > 0 {
		s.maxSize = maxSize
	}
	if _, err := s.Configure(context.Background(), &pluginv1.ConfigureRequest{PluginName: "gate"}); err != nil {
		t.Fatal(err)
	}
	fs := newFakeStream()
	done := make(chan error, 1)
	go func() { done <- s.InvokeStream(fs) }()
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

func TestInvokeStreamCancelFrame(t *testing.T) {
	g := newGate()
	fs, done := serveFakeStream(t, g, 0)
	fs.frames <- startFrame(7, "hold", `{"name":"a"}`)
	within(t, g.started)
	fs.frames <- &pluginv1.InvokeFrame{Id: 99, Op: &pluginv1.InvokeFrame_Cancel{Cancel: true}} // unknown: ignored
	fs.frames <- &pluginv1.InvokeFrame{Id: 7, Op: &pluginv1.InvokeFrame_Cancel{Cancel: true}}
	if err := within(t, g.ended); !errors.Is(err, context.Canceled) {
		t.Errorf("call ended with %v, want Canceled", err)
	}
	if r := within(t, fs.sent); r.GetId() != 7 || r.GetResponse().GetFailure() == nil {
		t.Errorf("result %v, want call 7's failure", r)
	}
	close(fs.frames)
	if err := within(t, done); err != nil {
		t.Errorf("InvokeStream = %v", err)
	}
}

// TestInvokeStreamEnd: when the host closes its side, running calls finish
// and their results are sent; when the stream breaks, they are cancelled.
// InvokeStream returns only after its calls.
func TestInvokeStreamEnd(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		g := newGate()
		fs, done := serveFakeStream(t, g, 0)
		fs.frames <- startFrame(1, "hold", `{"name":"a"}`)
		within(t, g.started)
		close(fs.frames)
		select {
		case err := <-done:
			t.Fatalf("InvokeStream returned %v with a call running", err)
		case <-time.After(20 * time.Millisecond):
		}
		close(g.release)
		if r := within(t, fs.sent); r.GetId() != 1 || string(r.GetResponse().GetResultJson()) != `"a"` {
			t.Errorf("result %v, want call 1's", r)
		}
		if err := within(t, done); err != nil {
			t.Errorf("InvokeStream = %v", err)
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
			t.Errorf("InvokeStream = %v, want %v", err, broken)
		}
	})
}

func TestInvokeStreamDeadlineAndErrors(t *testing.T) {
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
	// A result over the size cap fails alone, as unary Invoke would.
	fs.frames <- startFrame(2, "big", `{"size":2000000}`)
	if r := within(t, fs.sent); r.GetId() != 2 || codes.Code(r.GetError().GetCode()) != codes.ResourceExhausted {
		t.Errorf("2 MB result with a 1 MiB cap = %v, want ResourceExhausted", r)
	}
	// gRPC errors of Invoke travel as CallError.
	bad := startFrame(3, "hold", `{}`)
	bad.GetRequest().ContextJson = []byte("[")
	fs.frames <- bad
	if r := within(t, fs.sent); r.GetId() != 3 || codes.Code(r.GetError().GetCode()) != codes.InvalidArgument {
		t.Errorf("bad context = %v, want InvalidArgument", r)
	}
	fs.frames <- startFrame(4, "big", `{"size":3}`)
	if r := within(t, fs.sent); r.GetId() != 4 || string(r.GetResponse().GetResultJson()) != `"xxx"` {
		t.Errorf("result %v, want call 4's", r)
	}
	close(fs.frames)
	if err := within(t, done); err != nil {
		t.Errorf("InvokeStream = %v", err)
	}
}
