package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Priorities are the oslo.messaging notification priorities, lower case, in
// oslo's order: the names of a notification handler's methods. Treat as
// read-only.
var Priorities = []string{"audit", "debug", "info", "warn", "error", "critical", "sample"}

// Notifications is a notification handler: a name, which the host's
// listeners refer to, and the value whose methods handle notifications.
//
// The handler methods of Impl are named after the priorities they handle
// (the Go name matched case-insensitively against [Priorities]) or Notify
// for every priority that has no method of its own, and shaped
//
//	func(ctx context.Context, n sdk.Notification) (sdk.NotificationResult, error)
//	func(ctx context.Context, n sdk.Notification) error
//
// for one notification at a time, or, with the suffix Batch (InfoBatch,
// NotifyBatch), for batches of one priority, in the order received:
//
//	func(ctx context.Context, ns []sdk.Notification) ([]sdk.NotificationResult, error)
//	func(ctx context.Context, ns []sdk.Notification) error
//
// A handler is either a batch handler or not: it may not mix both kinds. A
// batch method returns one result per notification, in order, or a nil
// slice for "all handled".
//
// A nil error and [Handled] acknowledge the notification; [Requeue], an
// error or a panic (logged, not fatal) ask the host to deliver it again, as
// NotificationResult.REQUEUE or an exception does in oslo.messaging. For a
// batch, an error or a panic requeues the whole batch. The host bounds
// redeliveries, so a notification that always fails is eventually dropped
// or dead-lettered, not retried for ever; [Notification.Attempts] tells how
// many times it has been tried.
//
// The handler declares exactly the priorities it has methods for (all of
// them with Notify or NotifyBatch), and a listener of the host subscribes
// only to those. Other methods are ignored, so one struct can be both an
// [Endpoint]'s Impl and a handler's; the hooks [Configurer] and [Closer] run
// once per distinct Impl. A method named after a priority with another
// shape, or one taking an [Notification] under another name, is a mistake
// reported when the plugin starts.
//
// Methods are called concurrently, one goroutine per delivery: Impl must be
// safe for concurrent use.
type Notifications struct {
	// Name identifies the handler to the host; unique within the plugin,
	// made of letters, digits, '_', '-' and '.'.
	Name string
	// Impl holds the methods; usually a pointer to a struct.
	Impl any
	// Serializer, if set, converts each notification's payload
	// (DeserializeEntity) and context (DeserializeContext) before the
	// handler sees them, and what the handler sends through [Host].
	Serializer Serializer
}

// Servable is one thing a plugin serves: an [Endpoint] or a
// [Notifications] handler. [ServeAll] and [StaticAll] take them.
type Servable interface {
	servable()
}

func (Endpoint) servable()      {}
func (Notifications) servable() {}

var (
	_ Servable = Endpoint{}
	_ Servable = Notifications{}
)

// Notification is one oslo.messaging notification as a listener receives
// it. A handler may keep it; its fields are its own copy.
type Notification struct {
	// Priority is lower case: "audit", "debug", "info", "warn", "error",
	// "critical" or "sample".
	Priority string
	// PublisherID is the notifier's publisher_id, e.g. "compute.host1".
	PublisherID string
	// EventType is e.g. "compute.instance.create.end".
	EventType string
	// Payload is the payload as JSON: any JSON value, "null" when none.
	Payload json.RawMessage
	// Context is the notification's context dict (user_id, project_id,
	// request_id, ...); numbers are json.Number. Never nil.
	Context map[string]any
	// MessageID is the notification's message_id, a uuid4 with dashes.
	MessageID string
	// Timestamp is as the notifier sent it: "YYYY-MM-DD HH:MM:SS.ffffff", UTC.
	Timestamp string
	// Redelivered is true when the broker delivers the message again (after
	// a requeue, or after a consumer was lost before acknowledging it).
	Redelivered bool
	// Attempts counts the deliveries to a plugin so far, this one included:
	// 1 the first time; 0 when the host does not count them.
	Attempts int
}

// DecodePayload decodes the payload into v (a pointer) with encoding/json.
// Keys v does not have are ignored; numbers in untyped places (any,
// map[string]any) become json.Number. A null or absent payload leaves v as
// it is.
func (n Notification) DecodePayload(v any) error {
	raw := bytes.TrimSpace(n.Payload)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode payload of %s: %w", n.EventType, err)
	}
	return nil
}

// NotificationResult is what a handler made of a notification: [Handled]
// or [Requeue], as oslo.messaging's NotificationResult.
type NotificationResult int

const (
	// Handled acknowledges the notification: the host removes it from the queue.
	Handled NotificationResult = iota
	// Requeue asks the host to deliver the notification again (within its
	// redelivery bound).
	Requeue
)

// String returns "handled" or "requeue".
func (r NotificationResult) String() string {
	switch r {
	case Handled:
		return "handled"
	case Requeue:
		return "requeue"
	}
	return fmt.Sprintf("NotificationResult(%d)", int(r))
}

// NotificationPlugin is a [Plugin] that also handles notifications. After
// its Configure succeeded, NotificationHandlers is called once for the
// handlers to serve; like the endpoints, their Impls are the plugin's to
// configure and close. A NotificationPlugin may return no endpoints.
type NotificationPlugin interface {
	Plugin
	NotificationHandlers() []Notifications
}
