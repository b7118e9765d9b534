package sdk

import (
	"context"
	"io"
	"sync"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// InvokeStream serves the calls the host multiplexes over one stream: each
// request frame runs in its own goroutine exactly as [server.Invoke] would
// run it, with the frame's deadline as the gRPC deadline, and its outcome
// goes back as one result with the frame's id. A cancel frame cancels its
// call's context. When the host closes its side, the calls still running
// finish and their results are sent; when the stream breaks, they are
// cancelled. It returns once every call has returned.
func (s *server) InvokeStream(stream pluginv1.Endpoint_InvokeStreamServer) error {
	ctx, cancelAll := context.WithCancel(stream.Context())
	defer cancelAll()
	sc := &streamCalls{stream: stream, calls: map[uint64]context.CancelFunc{}, maxSize: s.maxSize}
	for {
		f, err := stream.Recv()
		if err != nil {
			if err != io.EOF {
				cancelAll()
			}
			sc.wg.Wait()
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch op := f.GetOp().(type) {
		case *pluginv1.InvokeFrame_Request:
			sc.start(ctx, f, func(ctx context.Context) (*pluginv1.InvokeResponse, error) {
				return s.Invoke(ctx, op.Request)
			})
		case *pluginv1.InvokeFrame_Cancel:
			sc.cancel(f.GetId())
		}
		// Other ops, from a newer host, are ignored.
	}
}

// streamCalls tracks the calls running for one InvokeStream.
type streamCalls struct {
	stream  pluginv1.Endpoint_InvokeStreamServer
	maxSize int
	wg      sync.WaitGroup

	sendMu sync.Mutex // gRPC allows one sender at a time

	mu    sync.Mutex
	calls map[uint64]context.CancelFunc // by frame id, while running
}

// start runs invoke for frame f in a new goroutine and sends its outcome.
func (sc *streamCalls) start(ctx context.Context, f *pluginv1.InvokeFrame,
	invoke func(context.Context) (*pluginv1.InvokeResponse, error)) {
	id := f.GetId()
	var cancel context.CancelFunc
	if d, ok := f.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, d)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	sc.mu.Lock()
	sc.calls[id] = cancel
	sc.mu.Unlock()
	sc.wg.Add(1)
	go func() {
		defer sc.wg.Done()
		resp, err := invoke(ctx)
		sc.mu.Lock()
		delete(sc.calls, id)
		sc.mu.Unlock()
		cancel()
		sc.send(id, resp, err)
	}()
}

// cancel cancels the running call id, if any.
func (sc *streamCalls) cancel(id uint64) {
	sc.mu.Lock()
	cancel := sc.calls[id]
	delete(sc.calls, id)
	sc.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// send sends the outcome of call id. A result over the size cap is
// replaced by the error a unary Invoke would give, so that it fails alone
// instead of ending the stream. An error sending means the stream is gone:
// the host fails the call itself.
func (sc *streamCalls) send(id uint64, resp *pluginv1.InvokeResponse, err error) {
	res := &pluginv1.InvokeResult{Id: id}
	if err != nil {
		res.Outcome = callError(err)
	} else {
		res.Outcome = &pluginv1.InvokeResult_Response{Response: resp}
		if n := proto.Size(res); n > sc.maxSize {
			res.Outcome = callError(status.Errorf(codes.ResourceExhausted,
				"grpc: trying to send message larger than max (%d vs. %d)", n, sc.maxSize))
		}
	}
	sc.sendMu.Lock()
	defer sc.sendMu.Unlock()
	_ = sc.stream.Send(res)
}

func callError(err error) *pluginv1.InvokeResult_Error {
	st := status.Convert(err)
	return &pluginv1.InvokeResult_Error{Error: &pluginv1.CallError{Code: uint32(st.Code()), Message: st.Message()}}
}
