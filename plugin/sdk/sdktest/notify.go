package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
)

// NotificationHandlerInfo is a notification handler as the plugin describes
// it to the host.
type NotificationHandlerInfo struct {
	Name       string
	Priorities []string // lower case, in the order of sdk.Priorities
	Batch      bool
}

func handlerInfos(resp *pluginv1.DescribeResponse) []NotificationHandlerInfo {
	var out []NotificationHandlerInfo
	for _, h := range resp.GetNotificationHandlers() {
		out = append(out, NotificationHandlerInfo{Name: h.GetName(), Priorities: h.GetPriorities(), Batch: h.GetBatch()})
	}
	return out
}

// NotificationHandlers returns the notification handlers the plugin serves,
// configuring it without config first if needed.
func (h *Harness) NotificationHandlers() ([]NotificationHandlerInfo, error) {
	resp, err := h.describe()
	if err != nil {
		return nil, err
	}
	return handlerInfos(resp), nil
}

// Notify delivers ns to the notification handler named handler in one
// request, as a host's listener does (a batch handler gets them as batches
// of one priority), and returns one result per notification, in order. The
// handler's errors and panics are not returned: they are results
// (sdk.Requeue) and log lines. An error means none was delivered: an
// unknown handler, or a priority the handler does not declare (a host's
// listener would not subscribe to it).
//
// Fields left zero are filled as a host fills them: Priority "info" (and
// lower-cased), Payload null, Context {}, MessageID a fresh uuid4,
// Timestamp now in oslo's format, Attempts 1. ctx's deadline is the
// request's deadline. Safe for concurrent use.
func (h *Harness) Notify(ctx context.Context, handler string, ns ...sdk.Notification) ([]sdk.NotificationResult, error) {
	if _, err := h.ensureConfigured(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	handlers := h.handlers
	h.mu.Unlock()
	i := slices.IndexFunc(handlers, func(hi NotificationHandlerInfo) bool { return hi.Name == handler })
	if i < 0 {
		return nil, fmt.Errorf("no notification handler %q", handler)
	}
	req := &pluginv1.NotifyRequest{Handler: handler}
	for _, n := range ns {
		pn, err := notificationToProto(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(handlers[i].Priorities, pn.GetPriority()) {
			return nil, fmt.Errorf("notification handler %q does not handle priority %q (it handles %s)",
				handler, pn.GetPriority(), strings.Join(handlers[i].Priorities, ", "))
		}
		req.Notifications = append(req.Notifications, pn)
	}
	if d, ok := ctx.Deadline(); ok {
		req.SetDeadline(d)
	}
	resp, err := h.client.Notify(ctx, req)
	if err != nil {
		return nil, err
	}
	out := make([]sdk.NotificationResult, len(resp.GetResults()))
	for i, r := range resp.GetResults() {
		if r.GetOutcome() == pluginv1.NotifyResult_REQUEUE {
			out[i] = sdk.Requeue
		}
	}
	return out, nil
}

// notificationToProto is n as a host sends it, zero fields filled.
func notificationToProto(n sdk.Notification) (*pluginv1.Notification, error) {
	pn := &pluginv1.Notification{
		Priority:    strings.ToLower(n.Priority),
		PublisherId: n.PublisherID,
		EventType:   n.EventType,
		PayloadJson: n.Payload,
		MessageId:   n.MessageID,
		Timestamp:   n.Timestamp,
		Redelivered: n.Redelivered,
		Attempts:    int32(n.Attempts),
	}
	if pn.Priority == "" {
		pn.Priority = "info"
	}
	if len(pn.PayloadJson) == 0 {
		pn.PayloadJson = []byte("null")
	} else if !json.Valid(pn.PayloadJson) {
		return nil, fmt.Errorf("payload of %s is not JSON: %q", n.EventType, n.Payload)
	}
	reqCtx := n.Context
	if reqCtx == nil {
		reqCtx = map[string]any{}
	}
	b, err := json.Marshal(reqCtx)
	if err != nil {
		return nil, fmt.Errorf("encode context: %w", err)
	}
	pn.ContextJson = b
	if pn.MessageId == "" {
		pn.MessageId = uuid4()
	}
	if pn.Timestamp == "" {
		pn.Timestamp = OsloTimestamp(time.Now())
	}
	if pn.Attempts == 0 {
		pn.Attempts = 1
	}
	return pn, nil
}

// OsloTimestamp formats t as oslo.messaging's notifier does (str(utcnow())):
// "YYYY-MM-DD HH:MM:SS.ffffff" in UTC, without the fraction when the
// microseconds are 0.
func OsloTimestamp(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05.000000")
}

// uuid4 returns a random UUID in its dashed form, as oslo's message_id.
func uuid4() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
