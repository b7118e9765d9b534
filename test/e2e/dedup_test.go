package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestDuplicateCaughtByTime: a request re-sent with the same _unique_id
// after more than 16 other requests (beyond oslo's 16-id window) is not
// executed twice; across a plugin swap in between too.
func TestDuplicateCaughtByTime(t *testing.T) {
	t.Parallel()
	topic := pypeer.UniqueName(t, "dup")
	h := runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "calc" {
  command = %q
}
server "calc" {
  topic   = %q
  plugins = ["calc"]
}
`, bin.calc, topic)))
	c := goClient(t, topic)
	total := func() int {
		t.Helper()
		var v int
		if err := c.Call(bg(t, 30*time.Second), nil, "add", map[string]any{"increment": 0}, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	conn, err := amqp.Dial(strings.Replace(pypeer.URL(), "rabbit://", "amqp://", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// A cast of add(increment=1), published as an oslo client would and
	// then re-published with the same _unique_id (as a publish retried
	// after a failover does).
	uid := oslo.NewID()
	body := (&oslo.Request{Method: "add", Args: []byte(`{"increment": 1}`), UniqueID: uid}).Encode()
	send := func() {
		t.Helper()
		err := ch.PublishWithContext(bg(t, 10*time.Second), "openstack", topic, false, false,
			amqp.Publishing{ContentType: "application/json", ContentEncoding: "utf-8", Body: body})
		if err != nil {
			t.Fatal(err)
		}
	}
	send()
	waitFor(t, 20*time.Second, "the first cast executed", func() bool { return total() == 1 })
	for i := 0; i < 20; i++ { // 20 requests with fresh ids in between (21 with the check)
		if got := total(); got != 1 {
			t.Fatalf("total %d, want 1", got)
		}
	}
	if err := h.Swap(t, "calc"); err != nil { // a new generation: its own state starts at 0
		t.Fatal(err)
	}
	if got := total(); got != 0 {
		t.Fatalf("new generation: total %d, want 0", got)
	}
	send()
	waitFor(t, 20*time.Second, "the copy dropped as a duplicate", func() bool {
		return logHas(h.Log(), "ignoring duplicate message", "unique_id="+uid)
	})
	if got := total(); got != 0 {
		t.Fatalf("the re-sent request ran again: total %d, want 0", got)
	}
}

// logHas reports whether one line of log holds all of parts.
func logHas(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
