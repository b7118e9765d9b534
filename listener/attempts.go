package listener

import (
	"container/list"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// attemptCounter counts how often each message was requeued, for queues
// whose broker does not (RabbitMQ classic queues carry no delivery
// count). Messages are keyed by _unique_id, else message_id; the least
// recently touched entries are forgotten beyond the bound, so memory stays
// bounded whatever the traffic (a forgotten message starts counting
// again). Counts are per Listener: listeners sharing a pool each count
// the deliveries they saw. Safe for concurrent use.
type attemptCounter struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *attemptEntry, most recent at the front
	byKey map[string]*list.Element
}

type attemptEntry struct {
	key      string
	requeues int
}

func newAttemptCounter(max int) *attemptCounter {
	return &attemptCounter{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// requeues returns how many times key was requeued so far.
func (a *attemptCounter) requeues(key string) int {
	if key == "" {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		a.order.MoveToFront(e)
		return e.Value.(*attemptEntry).requeues
	}
	return 0
}

// requeued records one more requeue of key.
func (a *attemptCounter) requeued(key string) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		e.Value.(*attemptEntry).requeues++
		a.order.MoveToFront(e)
		return
	}
	a.byKey[key] = a.order.PushFront(&attemptEntry{key: key, requeues: 1})
	for a.order.Len() > a.max {
		old := a.order.Back()
		a.order.Remove(old)
		delete(a.byKey, old.Value.(*attemptEntry).key)
	}
}

// done forgets key (the message was acked).
func (a *attemptCounter) done(key string) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		a.order.Remove(e)
		delete(a.byKey, key)
	}
}

func (a *attemptCounter) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.order.Len()
}

// brokerDeliveryCount is the x-delivery-count header quorum queues add to
// redelivered messages (the number of earlier deliveries), if present.
func brokerDeliveryCount(h amqp.Table) (int, bool) {
	switch v := h["x-delivery-count"].(type) {
	case int:
		return v, true
	case int8:
		return int(v), true
	case int16:
		return int(v), true
	case int32:
		return int(v), true
	case int64:
		return int(v), true
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case uint32:
		return int(v), true
	case uint64:
		return int(v), true
	}
	return 0, false
}
