package listener

import (
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
)

// What the Listener gives its intake: the decoder into the handler's
// Message and the screen before the handler.

// item is a notification taken for the handler.
type item struct {
	msg Message
	// priorityKnown is whether the priority is one of oslo's.
	priorityKnown bool
	// key identifies the message across redeliveries for attempt counting:
	// its _unique_id, else its message_id.
	key      string
	uniqueID string
}

func itemUniqueID(it *item) string { return it.uniqueID }

func describeItem(it *item) []any {
	return []any{"event_type", it.msg.EventType, "message_id", it.msg.Metadata.MessageID}
}

// decodeItem decodes a notification into what the handler will see.
func decodeItem(d *amqp.Delivery, body []byte) (*item, error) {
	n, err := oslo.DecodeNotification(body)
	if err != nil {
		return nil, err
	}
	p, known := oslo.NormalizePriority(n.Priority)
	it := &item{
		msg: Message{
			Priority:    p,
			PublisherID: n.PublisherID,
			EventType:   n.EventType,
			Payload:     n.Payload,
			Context:     n.EndpointContext(),
			Metadata:    Metadata{MessageID: n.MessageID, Timestamp: n.Timestamp},
			Topic:       strings.TrimSuffix(d.RoutingKey, "."+p),
			Redelivered: d.Redelivered,
		},
		priorityKnown: known,
		key:           n.UniqueID,
		uniqueID:      n.UniqueID,
	}
	if it.msg.Payload == nil {
		it.msg.Payload = []byte("null")
	}
	if it.key == "" {
		it.key = n.MessageID
	}
	return it, nil
}

// screen decides whether a decoded notification goes to the handler
// (the others are acked by the intake) and counts its attempts.
func (l *Listener) screen(d *amqp.Delivery, it *item) bool {
	m := &it.msg
	if !it.priorityKnown {
		l.log.Warn(fmt.Sprintf("Unknown priority %q", m.Priority), "event_type", m.EventType, "message_id", m.Metadata.MessageID)
		return false
	}
	if !l.priorities[m.Priority] {
		// No handler for it, as a Python listener without that endpoint
		// method (reachable only through foreign bindings of a pool queue).
		l.log.Debug("notification of a priority not listened to", "priority", m.Priority, "event_type", m.EventType)
		return false
	}
	if !l.cfg.Filter.Match(m) {
		l.log.Trace("notification filtered out", "event_type", m.EventType, "publisher_id", m.PublisherID)
		return false
	}
	count := l.attempts.requeues(it.key)
	if bc, ok := brokerDeliveryCount(d.Headers); ok && bc > count {
		count = bc
	}
	m.Attempts = count + 1
	return true
}
