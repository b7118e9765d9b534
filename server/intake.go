package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/oslo"
)

// What the Server gives its intake: the decoder, the answer to refused
// requests, and the handler of the requests it took.

// handle runs one request, acked and not a duplicate, on an executor
// worker.
func (s *Server) handle(ctx context.Context, m *intake.Msg[*oslo.Request]) intake.Verdict {
	var deadline time.Time
	if ttl := m.TTL(); ttl > 0 {
		// A call's expiration is its timeout (oslo sets it to
		// timeout*1000 ms): the caller gives up then.
		deadline = m.Received.Add(ttl)
	}
	s.dispatch(ctx, m.Message, deadline, traceparent(&m.Delivery))
	return intake.Handled
}

// refused logs a request the intake refused and, when it can read the
// reply address of a call, tells the caller.
func (s *Server) refused(d *amqp.Delivery, body []byte, err error) {
	if errors.Is(err, oslo.ErrEnvelopeVersion) {
		// As oslo: RabbitMessage raises UnsupportedRpcEnvelopeVersion,
		// the consumer logs "Failed to process message ... skipping it."
		// and rejects it; the caller gets no reply.
		s.log.Error("Failed to process message ... skipping it.", "error", "UnsupportedRpcEnvelopeVersion: "+err.Error(),
			"routing_key", d.RoutingKey, "bytes", len(d.Body))
		return
	}
	var tooLarge *intake.TooLargeError
	if errors.As(err, &tooLarge) {
		err = fmt.Errorf("%w: %w", errTooLarge, err)
	}
	s.log.Warn("dropping malformed request", "error", err, "routing_key", d.RoutingKey, "bytes", len(d.Body))
	if body == nil {
		return
	}
	req := salvage(body)
	if req == nil || req.ReplyQ == "" {
		return
	}
	s.in.Go(func(ctx context.Context) {
		_ = s.replies.send(ctx, req.ReplyQ, &oslo.Reply{Failure: malformedFailure(err), Ending: true, MsgID: req.MsgID, UniqueID: oslo.NewID()})
	})
}

func decodeRequest(_ *amqp.Delivery, body []byte) (*oslo.Request, error) {
	return oslo.DecodeRequest(body)
}

func requestUniqueID(r *oslo.Request) string { return r.UniqueID }

func describeRequest(r *oslo.Request) []any { return []any{"method", r.Method} }

// traceparent is the W3C trace context header of d, "" when absent.
func traceparent(d *amqp.Delivery) string {
	tp, _ := d.Headers[tracing.TraceparentHeader].(string)
	return tp
}

var errTooLarge = errors.New("request too large")

// salvage reads the reply address of a request that cannot be served
// (wrong content type, too large), ignoring the envelope.
func salvage(body []byte) *oslo.Request {
	if req, err := oslo.DecodeRequestInner(body); err == nil && req.IsCall() {
		return req
	}
	var env struct {
		Message string `json:"oslo.message"`
	}
	if err := jsonUnmarshal(body, &env); err == nil && env.Message != "" {
		if req, err := oslo.DecodeRequestInner([]byte(env.Message)); err == nil && req.IsCall() {
			return req
		}
	}
	return nil
}

func malformedFailure(err error) *oslo.Failure {
	switch {
	case errors.Is(err, errTooLarge):
		return oslo.NewFailure(ModuleHost, "RequestTooLarge", err.Error())
	default:
		return oslo.NewFailure(ModuleHost, "MalformedRequest", err.Error())
	}
}
