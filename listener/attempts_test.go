package listener

import (
	"fmt"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestAttemptCounter(t *testing.T) {
	a := newAttemptCounter(3)
	if a.requeues("m1") != 0 {
		t.Fatal("unknown message has requeues")
	}
	a.requeued("m1")
	a.requeued("m1")
	if got := a.requeues("m1"); got != 2 {
		t.Fatalf("requeues = %d, want 2", got)
	}
	a.done("m1")
	if got := a.requeues("m1"); got != 0 || a.len() != 0 {
		t.Fatalf("after done: %d requeues, %d entries", got, a.len())
	}
	// "" is never counted.
	a.requeued("")
	if a.len() != 0 || a.requeues("") != 0 {
		t.Fatal("empty key counted")
	}
	// Bounded: the least recently touched entry goes first.
	for i := range 3 {
		a.requeued(fmt.Sprint("k", i))
	}
	a.requeues("k0") // touch: k1 is now the oldest
	a.requeued("k3")
	if a.len() != 3 {
		t.Fatalf("%d entries, want the bound 3", a.len())
	}
	if a.requeues("k1") != 0 || a.requeues("k0") != 1 || a.requeues("k3") != 1 {
		t.Errorf("eviction order wrong: k0=%d k1=%d k3=%d", a.requeues("k0"), a.requeues("k1"), a.requeues("k3"))
	}
}

func TestBrokerDeliveryCount(t *testing.T) {
	for _, v := range []any{int(2), int8(2), int16(2), int32(2), int64(2), uint8(2), uint16(2), uint32(2), uint64(2)} {
		if n, ok := brokerDeliveryCount(amqp.Table{"x-delivery-count": v}); !ok || n != 2 {
			t.Errorf("%T: %d, %v", v, n, ok)
		}
	}
	for _, h := range []amqp.Table{nil, {}, {"x-delivery-count": "2"}} {
		if _, ok := brokerDeliveryCount(h); ok {
			t.Errorf("%v: counted", h)
		}
	}
}
