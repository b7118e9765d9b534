package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/oslo"
)

var jsonUnmarshal = json.Unmarshal

// dispatch runs one request on an executor worker: look up the handler,
// call it with heartbeats going, reply. traceparent is the request's W3C
// trace context header ("" for none); ctx ends when shutdown gives up
// waiting.
func (s *Server) dispatch(ctx context.Context, req *oslo.Request, deadline time.Time, traceparent string) {
	hardCtx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	ctx, span := tracing.StartReceive(ctx, req, traceparent) // nothing when tracing is off
	// The per-call logger is built only when something is logged: it
	// allocates, and most calls log nothing.
	log := func() hclog.Logger { return s.log.With("method", req.Method, "msg_id", req.MsgID) }
	if s.log.IsDebug() {
		log().Debug("dispatching", "namespace", req.Namespace, "version", req.Version, "call", req.IsCall())
	}
	start := time.Now()
	if obs := s.cfg.Observer; obs != nil {
		obs.CallStarted()
	}
	outcome := "ok"
	dctx, dspan := tracing.StartDispatch(ctx, req.Method)
	h, failure := s.cfg.Dispatcher.Lookup(req)
	var result json.RawMessage
	if failure == nil {
		stopHB := s.startHeartbeats(hardCtx, req, log)
		var err error
		result, err = h.ServeRPC(dctx, &Call{
			Method: req.Method, Namespace: req.Namespace, Version: req.VersionOrDefault(),
			Args: req.Args, Context: req.EndpointContext(), MsgID: req.MsgID,
		})
		stopHB()
		if err != nil {
			outcome = "error"
			failure = asFailure(err)
			if isExpected(err) {
				log().Debug("expected exception during message handling", "error", failure.Error())
			} else {
				log().Error("exception during message handling", "error", failure.Error())
			}
		}
	} else {
		outcome = "rejected"
		log().Error("exception during message handling", "error", failure.Error())
	}
	if failure != nil {
		dspan.End(failure)
	} else {
		dspan.End(nil)
	}
	if obs := s.cfg.Observer; obs != nil {
		obs.CallFinished(req.Method, outcome, time.Since(start))
	}
	defer span.End(nil)
	if !req.IsCall() {
		return
	}
	if !deadline.IsZero() && time.Now().After(deadline) {
		// The caller gave up at its timeout (the request's expiration):
		// a reply now would only be dropped as late, as Python's is.
		log().Debug("call outlived the caller's timeout; not replying")
		return
	}
	reply := &oslo.Reply{Result: result, Failure: failure, Ending: true, MsgID: req.MsgID, UniqueID: oslo.NewID()}
	_, pspan := tracing.Child(ctx, tracing.SpanReplyPublish)
	err := s.replies.send(hardCtx, req.ReplyQ, reply)
	pspan.End(err)
	if err != nil {
		log().Warn("reply not sent", "reply_q", req.ReplyQ, "error", err)
	}
}

// startHeartbeats sends call-monitor heartbeats every int(_timeout)/2 while
// the call runs, as a Python server's watchdog does, and returns the func
// that stops them (and waits until no heartbeat is being sent, so the final
// reply is always last).
func (s *Server) startHeartbeats(hardCtx context.Context, req *oslo.Request, log func() hclog.Logger) func() {
	if !req.IsCall() {
		return func() {}
	}
	interval, invalid := req.HeartbeatInterval()
	if invalid {
		log().Warn("client provided an invalid timeout value", "timeout", string(req.Timeout))
	}
	if interval == 0 {
		return func() {}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(hardCtx, interval)
			err := s.replies.send(ctx, req.ReplyQ, oslo.Heartbeat(req.MsgID))
			cancel()
			if err != nil {
				log().Debug("call-monitor heartbeat failed", "error", err)
				return
			}
		}
	}()
	return func() {
		close(stop)
		<-done
	}
}
