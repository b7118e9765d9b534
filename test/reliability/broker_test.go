package reliability

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/test/pypeer"
)

// brokerURL is the shared test broker (OSLOHOST_TEST_RABBIT_URL or
// 127.0.0.1:5672).
func brokerURL() string { return pypeer.URL() }

// closeConnections makes the default broker close every connection whose
// client properties contain token (rabbitmqctl close_connection), leaving
// other tests' connections alone. It returns how many it closed.
func closeConnections(t testing.TB, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "list_connections", "pid", "client_properties").Output()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, token) {
			continue
		}
		pid := strings.Fields(line)[0]
		if err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "close_connection", pid, "reliability test closes it").Run(); err != nil {
			t.Logf("rabbitmqctl close_connection %s: %v (already gone?)", pid, err)
			continue
		}
		n++
	}
	return n
}

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
