package reliability

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/test/pypeer"
)

// brokerURL is the shared test broker (OSLOHOST_TEST_RABBIT_URL or
// 127.0.0.1:5672).
func brokerURL() string { return pypeer.URL() }

// rawChannel opens a plain amqp091 channel on the default broker for
// publishing hostile input and inspecting queues; closed at cleanup.
func rawChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.DialConfig("amqp://guest:guest@127.0.0.1:5672/", amqp.Config{
		Properties: amqp.Table{"connection_name": "reliability-raw-" + t.Name()},
		Dial:       amqp.DefaultDial(10 * time.Second),
	})
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// queueDepth is how many messages queue q holds (passive declare).
func queueDepth(t testing.TB, ch *amqp.Channel, q string) int {
	t.Helper()
	st, err := ch.QueueDeclarePassive(q, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("inspect queue %s: %v", q, err)
	}
	return st.Messages
}
