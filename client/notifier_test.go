package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dialTest(t *testing.T, exchange string) *Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr, err := Dial(ctx, Config{URL: pypeer.URL(), ControlExchange: exchange})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no broker: %v", err)
		}
		t.Skipf("no broker: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestNotifierWire publishes with every driver and reads the raw messages
// back from the queue the notifier declared: properties of spec 3.1,
// fields and key order of 7.3, context of 7.4.
func TestNotifierWire(t *testing.T) {
	exchange := pypeer.UniqueName(t, "nwire")
	topic := pypeer.UniqueName(t, "nwire")
	tr := dialTest(t, exchange)
	ch, _, err := shared(tr).Conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, p := range []string{"info", "critical"} {
			_, _ = ch.QueueDelete(topic+"."+p, false, false, false)
		}
		_ = ch.Close()
	}()

	n, err := NewNotifier(tr, "wire.host1", Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	ctxt := map[string]any{"user_id": "u1", "auth_token": "SECRET", "roles": []string{"admin"}}
	before := time.Now().UTC().Add(-time.Second)
	if err := n.Info(context.Background(), ctxt, "wire.event.start", map[string]any{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	v1, err := n.Prepare("wire.host2", Driver(DriverMessaging))
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.Critical(context.Background(), oslo.Context{"request_id": json.RawMessage(`"r"`)}, "wire.event.v1", json.RawMessage(`[1,2]`)); err != nil {
		t.Fatal(err)
	}
	noop, _ := n.Prepare("", Driver(DriverNoop))
	if err := noop.Info(context.Background(), nil, "wire.event.noop", nil); err != nil {
		t.Fatal(err)
	}

	get := func(q string) amqp.Delivery {
		t.Helper()
		d, ok, err := ch.Get(q, true)
		if err != nil || !ok {
			t.Fatalf("get %s: %v %v", q, ok, err)
		}
		if _, more, _ := ch.Get(q, true); more {
			t.Fatalf("more than one message in %s", q)
		}
		return d
	}
	check := func(d amqp.Delivery, key string) {
		t.Helper()
		if d.Exchange != exchange || d.RoutingKey != key || d.ContentType != "application/json" || d.ContentEncoding != "utf-8" ||
			d.DeliveryMode != amqp.Persistent || d.Priority != 0 || len(d.Headers) != 0 || d.Expiration != "" ||
			d.CorrelationId != "" || d.ReplyTo != "" || d.MessageId != "" {
			t.Errorf("delivery properties: %+v", d)
		}
	}

	d := get(topic + ".info")
	check(d, topic+".info")
	inner, err := oslo.Unwrap(d.Body)
	if err != nil || string(inner) == string(d.Body) {
		t.Fatalf("messagingv2 body not enveloped: %s", d.Body)
	}
	keys := []string{`"message_id"`, `"publisher_id"`, `"event_type"`, `"priority"`, `"payload"`, `"timestamp"`, `"_unique_id"`, `"_context_roles"`, `"_context_user_id"`}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(inner), k)
		if i <= last {
			t.Fatalf("key %s out of order in %s", k, inner)
		}
		last = i
	}
	got, err := oslo.DecodeNotification(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got.PublisherID != "wire.host1" || got.EventType != "wire.event.start" || got.Priority != "INFO" || string(got.Payload) != `{"k":"v"}` {
		t.Errorf("notification %+v", got)
	}
	if _, ok := got.Context["auth_token"]; ok || len(got.Context) != 2 {
		t.Errorf("context %v, want user_id and roles only", got.Context)
	}
	if len(got.UniqueID) != 32 || len(got.MessageID) != 36 {
		t.Errorf("ids %q %q", got.UniqueID, got.MessageID)
	}
	ts, err := oslo.ParseTimestamp(got.Timestamp)
	if err != nil || ts.Before(before) || ts.After(time.Now().UTC().Add(time.Second)) {
		t.Errorf("timestamp %q (%v) not UTC now", got.Timestamp, err)
	}

	d = get(topic + ".critical")
	check(d, topic+".critical")
	var bare map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &bare); err != nil || bare["oslo.version"] != nil {
		t.Fatalf("messaging (v1) body is not bare: %s", d.Body)
	}
	got, err = oslo.DecodeNotification(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got.PublisherID != "wire.host2" || got.Priority != "CRITICAL" || string(got.Payload) != `[1,2]` ||
		!cmp.Equal(got.Context, oslo.Context{"request_id": json.RawMessage(`"r"`)}) {
		t.Errorf("v1 notification %+v", got)
	}

	// The noop driver declared nothing (a 404 closes the channel: use
	// another one).
	ch2, _, err := shared(tr).Conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ch2.Close()
	if _, err := ch2.QueueDeclarePassive(topic+".debug", false, false, false, false, nil); err == nil {
		t.Error("queue of an unused priority exists")
	}
}

// TestNotifierRedeclaresAfterQueueLoss: when the queue vanished (a broker
// restart loses non-durable queues) the mandatory publish comes back and
// the notifier declares the queue again, so the notification is kept.
func TestNotifierRedeclaresAfterQueueLoss(t *testing.T) {
	exchange := pypeer.UniqueName(t, "nlost")
	topic := pypeer.UniqueName(t, "nlost")
	tr := dialTest(t, exchange)
	n, err := NewNotifier(tr, "p", Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Audit(context.Background(), nil, "one", 1); err != nil {
		t.Fatal(err)
	}
	ch, _, err := shared(tr).Conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_, _ = ch.QueueDelete(topic+".audit", false, false, false)
		_ = ch.Close()
	}()
	if _, err := ch.QueueDelete(topic+".audit", false, false, false); err != nil {
		t.Fatal(err)
	}
	if err := n.Audit(context.Background(), nil, "two", 2); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive(topic+".audit", false, false, false, false, nil)
	if err != nil || q.Messages != 1 {
		t.Fatalf("queue after loss: %+v %v, want the second notification", q, err)
	}
}

func TestNotifierOptions(t *testing.T) {
	tr := &Transport{} // never used: options are checked first
	if _, err := NewNotifier(tr, "p", Driver("routing")); !errors.Is(err, ErrUnknownDriver) {
		t.Errorf("routing: %v", err)
	}
	n, err := NewNotifier(tr, "p")
	if err != nil {
		t.Fatal(err)
	}
	if n.driver != DriverMessagingV2 || n.retry != -1 || !cmp.Equal(n.topics, []string{"notifications"}) {
		t.Errorf("defaults %+v", n)
	}
	p, err := n.Prepare("q", NotifierRetry(0), Topics("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if p.PublisherID() != "q" || p.retry != 0 || len(p.topics) != 2 || n.PublisherID() != "p" || len(n.topics) != 1 {
		t.Errorf("prepare: %+v from %+v", p, n)
	}
	if _, err := n.Prepare("", Topics()); err == nil {
		t.Error("no topics accepted")
	}
	if err := n.Notify(context.Background(), nil, "notice", "e", nil); !errors.Is(err, ErrInvalidPriority) {
		t.Errorf("notice: %v", err)
	}
	if err := n.Notify(context.Background(), []int{1}, "info", "e", nil); err == nil {
		t.Error("a context that is no object was accepted")
	}
}
