package listener

import (
	"context"
	"encoding/json"

	"github.com/oslohost/oslohost/oslo"
)

var (
	_ Handler      = HandlerFunc(nil)
	_ BatchHandler = BatchHandlerFunc(nil)
)

// Message is one notification as a handler sees it: what a Python endpoint
// method receives as (ctxt, publisher_id, event_type, payload, metadata),
// plus its priority and delivery facts.
type Message struct {
	// Priority is lower case ("info"), one of oslo.Priorities.
	Priority    string
	PublisherID string
	EventType   string
	// Payload is the raw JSON payload ("null" when the message had none).
	Payload json.RawMessage
	// Context is the request context as a Python endpoint receives it,
	// with "client_timeout": null added (oslo.Notification.EndpointContext).
	Context  oslo.Context
	Metadata Metadata
	// Topic is the target topic the notification was sent to (its routing
	// key without the priority).
	Topic string
	// Redelivered is the broker's redelivered flag: the message was
	// delivered before (requeued, or not acked before a connection loss).
	Redelivered bool
	// Attempts counts the deliveries of this message to a handler,
	// this one included (1 the first time); see Config.MaxRequeues.
	Attempts int
}

// Metadata is the metadata dict of a Python endpoint.
type Metadata struct {
	MessageID string `json:"message_id"`
	Timestamp string `json:"timestamp"`
}

// Result is what a handler did with a notification.
type Result int

const (
	// Handled: done; the message is acked.
	Handled Result = iota
	// Requeue: try again later (oslo's NotificationResult.REQUEUE).
	Requeue
)

func (r Result) String() string {
	switch r {
	case Handled:
		return "handled"
	case Requeue:
		return "requeue"
	}
	return "unknown"
}

// Handler handles one notification at a time. A non-nil error counts as
// Requeue whatever the Result. Handlers must be safe for concurrent use
// when the executor runs several at once; ctx ends when the listener shuts
// down hard.
type Handler interface {
	HandleNotification(ctx context.Context, m *Message) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) (Result, error)

// HandleNotification calls f.
func (f HandlerFunc) HandleNotification(ctx context.Context, m *Message) (Result, error) {
	return f(ctx, m)
}

// BatchHandler handles notifications in batches (Config.Batch). It
// returns one Result per message, in order, or nil for all Handled; a
// non-nil error, or a slice of the wrong length, requeues the whole batch.
type BatchHandler interface {
	HandleNotifications(ctx context.Context, batch []*Message) ([]Result, error)
}

// BatchHandlerFunc adapts a function to BatchHandler.
type BatchHandlerFunc func(ctx context.Context, batch []*Message) ([]Result, error)

// HandleNotifications calls f.
func (f BatchHandlerFunc) HandleNotifications(ctx context.Context, batch []*Message) ([]Result, error) {
	return f(ctx, batch)
}
