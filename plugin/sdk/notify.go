package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/plugin/pluginv1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Notify runs one notify frame of the Calls stream: it hands the
// notifications to one handler and returns one result per notification, in
// order.
func (s *server) Notify(ctx context.Context, req *pluginv1.NotifyRequest) (*pluginv1.NotifyResponse, error) {
	st := s.state.Load()
	if st == nil {
		return nil, errNotConfigured
	}
	h, ok := st.handlers[req.GetHandler()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no notification handler %q", req.GetHandler())
	}
	ns := make([]Notification, len(req.GetNotifications()))
	for i, pn := range req.GetNotifications() {
		n, err := notificationFromProto(pn)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "notification %d (message_id %q): %v", i, pn.GetMessageId(), err)
		}
		ns[i] = n
	}
	if d, ok := req.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	ctx = s.withHost(ctx)
	if h.ser != nil {
		ctx = context.WithValue(ctx, serializerKey{}, h.ser)
	}
	logger := s.logger.With("handler", h.name)
	resp := &pluginv1.NotifyResponse{Results: make([]*pluginv1.NotifyResult, len(ns))}
	if h.batch && len(ns) > 0 {
		// One span for the batch, parented on its first notification's.
		bctx, span := tracing.StartFromTraceparent(ctx, req.GetNotifications()[0].GetTraceparent(), "plugin.notifications", h.name)
		h.handleBatches(bctx, logger, ns, resp.Results)
		span.End(nil)
	} else {
		for i, n := range ns {
			nctx, span := tracing.StartFromTraceparent(ctx, req.GetNotifications()[i].GetTraceparent(), "plugin.notification", n.EventType)
			resp.Results[i] = h.handleOne(nctx, logger, n)
			if span.On() && resp.Results[i].GetOutcome() == pluginv1.NotifyResult_REQUEUE {
				span.End(errors.New(resp.Results[i].GetError()))
			} else {
				span.End(nil)
			}
		}
	}
	return resp, nil
}

func notificationFromProto(pn *pluginv1.Notification) (Notification, error) {
	n := Notification{
		Priority:    strings.ToLower(pn.GetPriority()),
		PublisherID: pn.GetPublisherId(),
		EventType:   pn.GetEventType(),
		Payload:     json.RawMessage(pn.GetPayloadJson()),
		Context:     map[string]any{},
		MessageID:   pn.GetMessageId(),
		Timestamp:   pn.GetTimestamp(),
		Redelivered: pn.GetRedelivered(),
		Attempts:    int(pn.GetAttempts()),
	}
	if len(n.Payload) == 0 {
		n.Payload = json.RawMessage("null")
	}
	if raw := strings.TrimSpace(string(pn.GetContextJson())); raw != "" && raw != "null" {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n.Context); err != nil {
			return Notification{}, fmt.Errorf("context: %w", err)
		}
	}
	return n, nil
}

// handleOne runs the method for n's priority, turning its result, error or
// panic into a result.
func (h *compiledHandler) handleOne(ctx context.Context, logger hclog.Logger, n Notification) (res *pluginv1.NotifyResult) {
	kv := []any{"priority", n.Priority, "event_type", n.EventType, "message_id", n.MessageID}
	if rid, ok := n.Context["request_id"].(string); ok && rid != "" {
		kv = append(kv, "request_id", rid)
	}
	logger = logger.With(kv...)
	m, ok := h.methods[n.Priority]
	if !ok {
		return ignored(logger, h.name, n.Priority)
	}
	if err := ctx.Err(); err != nil {
		return requeued(fmt.Errorf("not handled: %w", err))
	}
	defer func() {
		if v := recover(); v != nil {
			logger.Error("plugin panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			res = requeued(fmt.Errorf("plugin panic: %v", v))
		}
	}()
	if h.ser != nil {
		var err error
		if n, err = deserializeNotification(ctx, h.ser, n); err != nil {
			logger.Error("notification serializer failed: requeue", "error", err)
			return requeued(err)
		}
	}
	out := m.fn.Call([]reflect.Value{reflect.ValueOf(withLogger(ctx, logger)), reflect.ValueOf(n)})
	if errV := out[len(out)-1]; !errV.IsNil() {
		err := errV.Interface().(error)
		logger.Error("notification handler failed: requeue", "error", err)
		return requeued(err)
	}
	if !m.hasRes {
		return &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_HANDLED}
	}
	return outcome(logger, out[0].Interface().(NotificationResult))
}

// handleBatches calls the handler's batch methods, once per priority present
// in ns, with the notifications of that priority in order, and stores their
// results at the notifications' places in results.
func (h *compiledHandler) handleBatches(ctx context.Context, logger hclog.Logger, ns []Notification, results []*pluginv1.NotifyResult) {
	var order []string
	byPriority := map[string][]int{}
	for i, n := range ns {
		if _, ok := byPriority[n.Priority]; !ok {
			order = append(order, n.Priority)
		}
		byPriority[n.Priority] = append(byPriority[n.Priority], i)
	}
	for _, p := range order {
		idx := byPriority[p]
		batch := make([]Notification, len(idx))
		for j, i := range idx {
			batch[j] = ns[i]
		}
		got := h.handleBatch(ctx, logger.With("priority", p, "count", len(batch)), p, batch)
		for j, i := range idx {
			results[i] = got[j]
		}
	}
}

// handleBatch runs the batch method of priority p, turning its results,
// error or panic into one result per notification.
func (h *compiledHandler) handleBatch(ctx context.Context, logger hclog.Logger, p string, batch []Notification) (res []*pluginv1.NotifyResult) {
	all := func(r *pluginv1.NotifyResult) []*pluginv1.NotifyResult {
		out := make([]*pluginv1.NotifyResult, len(batch))
		for i := range out {
			out[i] = &pluginv1.NotifyResult{Outcome: r.GetOutcome(), Error: r.GetError()}
		}
		return out
	}
	m, ok := h.methods[p]
	if !ok {
		return all(ignored(logger, h.name, p))
	}
	if err := ctx.Err(); err != nil {
		return all(requeued(fmt.Errorf("not handled: %w", err)))
	}
	defer func() {
		if v := recover(); v != nil {
			logger.Error("plugin panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			res = all(requeued(fmt.Errorf("plugin panic: %v", v)))
		}
	}()
	if h.ser != nil {
		for i := range batch {
			var err error
			if batch[i], err = deserializeNotification(ctx, h.ser, batch[i]); err != nil {
				logger.Error("notification serializer failed: requeue the batch", "error", err)
				return all(requeued(err))
			}
		}
	}
	out := m.fn.Call([]reflect.Value{reflect.ValueOf(withLogger(ctx, logger)), reflect.ValueOf(batch)})
	if errV := out[len(out)-1]; !errV.IsNil() {
		err := errV.Interface().(error)
		logger.Error("notification handler failed: requeue the batch", "error", err)
		return all(requeued(err))
	}
	if !m.hasRes {
		return all(&pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_HANDLED})
	}
	rs := out[0].Interface().([]NotificationResult)
	if rs == nil {
		return all(&pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_HANDLED})
	}
	if len(rs) != len(batch) {
		err := fmt.Errorf("%s returned %d results for %d notifications", m.goName, len(rs), len(batch))
		logger.Error("notification handler failed: requeue the batch", "error", err)
		return all(requeued(err))
	}
	res = make([]*pluginv1.NotifyResult, len(rs))
	for i, r := range rs {
		res[i] = outcome(logger.With("message_id", batch[i].MessageID), r)
	}
	return res
}

// outcome is the wire result of a handler's NotificationResult.
func outcome(logger hclog.Logger, r NotificationResult) *pluginv1.NotifyResult {
	switch r {
	case Handled:
		return &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_HANDLED}
	case Requeue:
		logger.Debug("notification handler asked for requeue")
		return &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_REQUEUE}
	}
	err := fmt.Errorf("invalid result %v", r)
	logger.Error("notification handler failed: requeue", "error", err)
	return requeued(err)
}

func requeued(err error) *pluginv1.NotifyResult {
	return &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_REQUEUE, Error: err.Error()}
}

// ignored is the result for a priority the handler does not implement: as
// oslo.messaging does with a priority no endpoint handles, it is logged and
// acknowledged. A host only delivers described priorities, so this is a
// host's mistake.
func ignored(logger hclog.Logger, handler, priority string) *pluginv1.NotifyResult {
	msg := fmt.Sprintf("handler %q does not handle priority %q: ignored", handler, priority)
	logger.Warn("notification ignored", "error", msg)
	return &pluginv1.NotifyResult{Outcome: pluginv1.NotifyResult_HANDLED, Error: msg}
}
