package pluginv1

import (
	"context"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/oslohost/oslohost/internal/workers"
)

// CallHandler runs the calls a plugin gets on its Calls stream (see
// [ServeCalls]). Its methods are called concurrently, each with the call's
// context. A returned error is the call's gRPC status (a status error, or
// any error as codes.Unknown); a method's own error is an
// InvokeResponse.Failure, and an unhandled notification a REQUEUE result.
type CallHandler interface {
	Invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error)
	Notify(ctx context.Context, req *NotifyRequest) (*NotifyResponse, error)
}

// ServeCalls is the plugin side of a Calls stream, for an [EndpointServer]'s
// Calls method: each invoke and notify frame runs concurrently with h (on a
// goroutine an earlier call left idle, else a new one), under a context
// ending at the frame's deadline, on a cancel frame or when the stream
// breaks, and its outcome goes back as one [CallResult] with the frame's
// id. A result over maxSize (<= 0 means [DefaultMaxMessageSize]) is
// replaced by gRPC's ResourceExhausted error so that it fails alone instead
// of ending the stream. Frames of an unknown op, from a newer host, are
// ignored.
//
// When the host closes its side, the calls still running finish and their
// results are sent; when the stream breaks, they are cancelled. ServeCalls
// returns once every call has returned.
func ServeCalls(stream Endpoint_CallsServer, h CallHandler, maxSize int) error {
	ctx, cancelAll := context.WithCancel(stream.Context())
	defer cancelAll()
	sc := &serverCalls{stream: stream, calls: map[uint64]context.CancelFunc{}, maxSize: effectiveSize(maxSize),
		workers: workers.New(nil)}
	for {
		f, err := stream.Recv()
		if err != nil {
			if err != io.EOF {
				cancelAll()
			}
			sc.workers.Close() // idle workers end; busy ones once their call returns
			sc.workers.Wait()
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch op := f.GetOp().(type) {
		case *CallFrame_Invoke:
			sc.start(ctx, f, func(ctx context.Context) (*CallResult, error) {
				resp, err := h.Invoke(ctx, op.Invoke)
				return &CallResult{Outcome: &CallResult_Invoke{Invoke: resp}}, err
			})
		case *CallFrame_Notify:
			sc.start(ctx, f, func(ctx context.Context) (*CallResult, error) {
				resp, err := h.Notify(ctx, op.Notify)
				return &CallResult{Outcome: &CallResult_Notify{Notify: resp}}, err
			})
		case *CallFrame_Cancel:
			sc.cancel(f.GetId())
		}
	}
}

// serverCalls tracks the calls running for one Calls stream.
type serverCalls struct {
	stream  Endpoint_CallsServer
	maxSize int

	sendMu sync.Mutex // gRPC allows one sender at a time

	mu    sync.Mutex
	calls map[uint64]context.CancelFunc // by frame id, while running

	// workers run the calls: a worker keeps the stack a call grew
	// (internal/workers).
	workers *workers.Set
}

// start runs call for frame f on a worker and sends its outcome.
func (sc *serverCalls) start(ctx context.Context, f *CallFrame, call func(context.Context) (*CallResult, error)) {
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
	sc.workers.Go(func() {
		res, err := call(ctx)
		sc.mu.Lock()
		delete(sc.calls, id)
		sc.mu.Unlock()
		cancel()
		sc.send(id, res, err)
	})
}

// cancel cancels the running call id, if any.
func (sc *serverCalls) cancel(id uint64) {
	sc.mu.Lock()
	cancel := sc.calls[id]
	delete(sc.calls, id)
	sc.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// send sends the outcome of call id. An error sending means the stream is
// gone: the host fails the call itself.
func (sc *serverCalls) send(id uint64, res *CallResult, err error) {
	switch {
	case err != nil:
		res = &CallResult{Outcome: callError(err)}
	case res.GetInvoke() == nil && res.GetNotify() == nil:
		res = &CallResult{Outcome: callError(status.Error(codes.Internal, "plugin returned no response"))}
	}
	res.Id = id
	if n := proto.Size(res); n > sc.maxSize {
		res.Outcome = callError(status.Errorf(codes.ResourceExhausted,
			"grpc: trying to send message larger than max (%d vs. %d)", n, sc.maxSize))
	}
	sc.sendMu.Lock()
	defer sc.sendMu.Unlock()
	_ = sc.stream.Send(res)
}

func callError(err error) *CallResult_Error {
	st := status.Convert(err)
	return &CallResult_Error{Error: &CallError{Code: uint32(st.Code()), Message: st.Message()}}
}
