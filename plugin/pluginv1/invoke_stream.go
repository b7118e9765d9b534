package pluginv1

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// EnvUnary, set to anything but "" or "0" in the host's environment, makes
// every client made afterwards call Invoke as one unary RPC per call instead
// of over InvokeStream: for comparisons and as an escape hatch.
const EnvUnary = "OSLOHOST_PLUGIN_UNARY"

// invokeStreams is the number of InvokeStream streams a client multiplexes
// its calls over (round robin), each opened on its first use. One stream
// serializes the client's sends on one mutex and its results on one
// receiving goroutine; on 2 cores BenchmarkInvoke measured no difference
// between 1, 2 and 4 streams, so there is one.
const invokeStreams = 1

// maxStreamedFrame is the largest request frame sent over InvokeStream;
// larger requests go unary so that a big payload does not hold up the other
// calls on the stream (and so that one over the size cap fails alone, with
// gRPC's own ResourceExhausted, instead of breaking the stream).
const maxStreamedFrame = 1 << 20

// errStreamUnimplemented is what a call on the stream of a plugin without
// InvokeStream gets: it was never run and is made again unary.
var errStreamUnimplemented = errors.New("plugin does not implement InvokeStream")

// invokeMux makes Invoke calls over InvokeStream: each call gets an id, its
// request goes out in a frame and a receiving goroutine per stream hands the
// result with that id to the waiting caller. It is safe for concurrent use.
type invokeMux struct {
	c        EndpointClient
	maxFrame int // requests whose frame is larger go unary

	unary   atomic.Bool // the plugin does not implement InvokeStream
	ids     atomic.Uint64
	streams [invokeStreams]streamSlot
}

func newInvokeMux(c EndpointClient, maxSize int) *invokeMux {
	return &invokeMux{c: c, maxFrame: min(maxSize, maxStreamedFrame)}
}

// streamSlot holds one lazily opened stream; cur is nil until the first call
// and after the stream broke.
type streamSlot struct {
	cur atomic.Pointer[invokeStream]
	mu  sync.Mutex // serializes opening
}

// invokeStream is one open InvokeStream and the calls waiting on it.
type invokeStream struct {
	stream grpc.BidiStreamingClient[InvokeFrame, InvokeResult]
	cancel context.CancelFunc

	sendMu sync.Mutex // gRPC allows one sender at a time

	mu       sync.Mutex
	pending  map[uint64]chan outcome // nil once the stream broke
	err      error                   // why it broke, for late callers
	received bool                    // a result arrived: the plugin implements InvokeStream
}

type outcome struct {
	resp *InvokeResponse
	err  error
}

var outcomeChans = sync.Pool{New: func() any { return make(chan outcome, 1) }}

func (m *invokeMux) invoke(ctx context.Context, req *InvokeRequest) (*InvokeResponse, error) {
	if m.unary.Load() {
		return m.c.Invoke(ctx, req)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	frame := &InvokeFrame{Op: &InvokeFrame_Request{Request: req}}
	if d, ok := ctx.Deadline(); ok {
		frame.DeadlineUnixNano = d.UnixNano()
	}
	frame.Id = m.ids.Add(1)
	if proto.Size(frame) > m.maxFrame {
		return m.c.Invoke(ctx, req)
	}
	s, err := m.streams[frame.Id%invokeStreams].get(m)
	var ch chan outcome
	if err == nil {
		ch, err = s.register(frame.Id) // fails if s broke just now
	}
	if err == errStreamUnimplemented {
		return m.c.Invoke(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	// A failed Send has finished the stream: the receiver reports it to ch.
	_ = s.send(frame)
	select {
	case out := <-ch:
		outcomeChans.Put(ch)
		if out.err == errStreamUnimplemented {
			return m.c.Invoke(ctx, req)
		}
		if err := ctxDone(ctx, frame.DeadlineUnixNano); err != nil {
			// As with unary Invoke, a call whose context ended gets the
			// context's error even if a result raced it (likely made
			// because the plugin's context ended at the same deadline).
			return nil, err
		}
		return out.resp, out.err
	case <-ctx.Done():
		if s.unregister(frame.Id) {
			_ = s.send(&InvokeFrame{Id: frame.Id, Op: &InvokeFrame_Cancel{Cancel: true}})
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

// ctxDone returns the gRPC error of ctx having ended, also when its deadline
// (deadline, in Unix nanoseconds) has passed but its timer has not yet fired;
// nil otherwise.
func ctxDone(ctx context.Context, deadline int64) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	if deadline != 0 && time.Now().UnixNano() >= deadline {
		return status.FromContextError(context.DeadlineExceeded).Err()
	}
	return nil
}

// get returns the slot's stream, opening one if there is none.
func (sl *streamSlot) get(m *invokeMux) (*invokeStream, error) {
	if s := sl.cur.Load(); s != nil {
		return s, nil
	}
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if s := sl.cur.Load(); s != nil {
		return s, nil
	}
	if m.unary.Load() { // found out by another slot's stream meanwhile
		return nil, errStreamUnimplemented
	}
	// The stream outlives the call that opens it: it ends when the
	// receiver sees it end (the connection closed, the plugin went away).
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := m.c.InvokeStream(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &invokeStream{stream: stream, cancel: cancel, pending: map[uint64]chan outcome{}}
	sl.cur.Store(s)
	go s.receive(m, sl)
	return s, nil
}

// register makes id a pending call of s and returns the channel its outcome
// will arrive on; it fails when s has broken.
func (s *invokeStream) register(id uint64) (chan outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		return nil, s.err
	}
	ch := outcomeChans.Get().(chan outcome)
	s.pending[id] = ch
	return ch, nil
}

// unregister forgets the pending call id and reports whether it was still
// pending (no outcome delivered).
func (s *invokeStream) unregister(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; !ok {
		return false
	}
	delete(s.pending, id)
	return true
}

func (s *invokeStream) send(f *InvokeFrame) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.stream.Send(f)
}

// receive hands each result to its caller until the stream ends, then fails
// the calls still pending and empties the slot so that the next call opens
// a new stream.
func (s *invokeStream) receive(m *invokeMux, sl *streamSlot) {
	for {
		res, err := s.stream.Recv()
		if err != nil {
			s.fail(m, sl, err)
			return
		}
		s.mu.Lock()
		s.received = true
		ch, ok := s.pending[res.GetId()]
		if ok {
			delete(s.pending, res.GetId())
		}
		s.mu.Unlock()
		if !ok { // cancelled meanwhile
			continue
		}
		out := outcome{resp: res.GetResponse()}
		if e := res.GetError(); e != nil || out.resp == nil {
			out = outcome{err: status.Error(codes.Code(e.GetCode()), e.GetMessage())}
			if e == nil {
				out.err = status.Error(codes.Internal, "plugin sent an invoke result without outcome")
			}
		}
		ch <- out
	}
}

func (s *invokeStream) fail(m *invokeMux, sl *streamSlot, err error) {
	s.cancel()
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	unimplemented := status.Code(err) == codes.Unimplemented && !s.received
	if unimplemented {
		s.err = errStreamUnimplemented
		m.unary.Store(true)
	} else {
		msg := "stream ended"
		if err != io.EOF {
			msg = status.Convert(err).Message()
		}
		s.err = status.Error(codes.Unavailable, "invoke stream broke: "+msg)
	}
	s.mu.Unlock()
	sl.cur.CompareAndSwap(s, nil)
	for _, ch := range pending {
		ch <- outcome{err: s.err}
	}
}

// unaryFromEnv reports whether [EnvUnary] asks for unary Invoke calls.
func unaryFromEnv() bool {
	v := os.Getenv(EnvUnary)
	return v != "" && v != "0"
}
