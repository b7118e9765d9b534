package listener

import (
	"bytes"
	"compress/zlib"
	"context"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// broker dials the test broker, skipping without one (failing in CI).
func broker(t *testing.T) *rabbit.Conn {
	t.Helper()
	u, err := rabbit.ParseURL(pypeer.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "listener-test"})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no broker: %v", err)
		}
		t.Skipf("no broker: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// calls records handler calls.
type calls struct {
	mu  sync.Mutex
	got []*Message
	ch  chan *Message
}

func newCalls() *calls { return &calls{ch: make(chan *Message, 100)} }

func (c *calls) HandleNotification(_ context.Context, m *Message) (Result, error) {
	c.mu.Lock()
	c.got = append(c.got, m)
	c.mu.Unlock()
	c.ch <- m
	return Handled, nil
}

func (c *calls) next(t *testing.T) *Message {
	t.Helper()
	select {
	case m := <-c.ch:
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no notification within 15s")
		return nil
	}
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func queueMessages(t *testing.T, conn *rabbit.Conn, name string) int {
	t.Helper()
	ch, _, err := conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q.Messages
}

func publishRaw(t *testing.T, conn *rabbit.Conn, exchange, key string, p amqp.Publishing) {
	t.Helper()
	ch, _, err := conn.Channel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirm(exchange, key, false, false, p)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(context.Background()); err != nil || !ok {
		t.Fatalf("publish not confirmed: %v", err)
	}
}

func jsonMsg(body []byte) amqp.Publishing {
	return amqp.Publishing{ContentType: "application/json", ContentEncoding: "utf-8", Body: body}
}

// TestListenerEdgeCases feeds one listener with what a Python listener
// rejects, acks without dispatching, or drops as duplicate; after each the
// next good notification shows it was dealt with (blocking executor keeps
// the order), and the queue ends empty.
func TestListenerEdgeCases(t *testing.T) {
	conn := broker(t)
	exchange := pypeer.UniqueName(t, "lx")
	topic := pypeer.UniqueName(t, "ledge")
	c := newCalls()
	l, err := New(over(conn), Config{Exchange: exchange, Targets: []Target{{Topic: topic}},
		Priorities: []string{"info"}, Handler: c, Executor: newBlockingExecutor()})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch, _, err := conn.Channel(context.Background())
		if err == nil {
			_, _ = ch.QueueDelete(topic+".info", false, false, false)
			_ = ch.Close()
		}
	})
	key := topic + ".info"
	good := func(event string) *oslo.Notification {
		return &oslo.Notification{MessageID: oslo.NewUUID(), PublisherID: "raw", EventType: event, Priority: "INFO",
			Payload: []byte(`{"k": 1}`), Timestamp: oslo.Timestamp(time.Now()), UniqueID: oslo.NewID()}
	}
	expect := func(event string) *Message {
		t.Helper()
		m := c.next(t)
		if m.EventType != event {
			t.Fatalf("got %s, want %s", m.EventType, event)
		}
		return m
	}

	// Malformed bodies: rejected without requeue, never dispatched.
	for _, p := range []amqp.Publishing{
		jsonMsg([]byte("not json")),
		jsonMsg([]byte(`{"oslo.version": "3.0", "oslo.message": "{}"}`)),
		jsonMsg([]byte(`{"priority": 7}`)),
		{ContentType: "text/plain", Body: good("wrong.type").EncodeV1()},
		{ContentType: "application/json", Headers: amqp.Table{"compression": "application/x-lzma"}, Body: []byte("x")},
	} {
		publishRaw(t, conn, exchange, key, p)
	}
	publishRaw(t, conn, exchange, key, jsonMsg(good("after.malformed").Encode()))
	expect("after.malformed")

	// Unknown priority: acked with a warning.
	bad := good("bad.priority")
	bad.Priority = "NOTICE"
	publishRaw(t, conn, exchange, key, jsonMsg(bad.Encode()))
	publishRaw(t, conn, exchange, key, jsonMsg(good("after.priority").Encode()))
	expect("after.priority")

	// The v1 format and a zlib-compressed body are understood.
	publishRaw(t, conn, exchange, key, jsonMsg(good("v1").EncodeV1()))
	m := expect("v1")
	if m.Priority != "info" || string(m.Payload) != `{"k": 1}` || m.PublisherID != "raw" {
		t.Errorf("v1: %+v", m)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(good("zlib").Encode())
	_ = zw.Close()
	publishRaw(t, conn, exchange, key, amqp.Publishing{ContentType: "application/json",
		Headers: amqp.Table{"compression": oslo.CompressionGzip}, Body: z.Bytes()})
	expect("zlib")

	// A duplicate _unique_id (a re-published message) is dropped.
	dup := good("dup")
	publishRaw(t, conn, exchange, key, jsonMsg(dup.Encode()))
	expect("dup")
	publishRaw(t, conn, exchange, key, jsonMsg(dup.Encode()))
	publishRaw(t, conn, exchange, key, jsonMsg(good("after.dup").Encode()))
	expect("after.dup")

	// A payload-less message reads as null.
	np := good("no.payload")
	np.Payload = nil
	publishRaw(t, conn, exchange, key, jsonMsg(np.Encode()))
	if m := expect("no.payload"); string(m.Payload) != "null" {
		t.Errorf("payload %q, want null", m.Payload)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Shutdown(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	if n := c.count(); n != 7 {
		t.Errorf("%d calls, want 7", n)
	}
	if n := queueMessages(t, conn, key); n != 0 {
		t.Errorf("%d messages left in %s", n, key)
	}
}

// TestShutdownDrains: Shutdown waits for the running handler, whose
// message is then acked, and gives back what was not started.
func TestShutdownDrains(t *testing.T) {
	conn := broker(t)
	exchange := pypeer.UniqueName(t, "lx")
	topic := pypeer.UniqueName(t, "ldrain")
	key := topic + ".info"
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	handled := 0
	h := HandlerFunc(func(ctx context.Context, m *Message) (Result, error) {
		started <- struct{}{}
		<-release
		mu.Lock()
		handled++
		mu.Unlock()
		return Handled, nil
	})
	l, err := New(over(conn), Config{Exchange: exchange, Targets: []Target{{Topic: topic}},
		Priorities: []string{"info"}, Handler: h, Executor: newBlockingExecutor(), Prefetch: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch, _, err := conn.Channel(context.Background())
		if err == nil {
			_, _ = ch.QueueDelete(key, false, false, false)
			_ = ch.Close()
		}
	})
	for i := range 3 {
		n := &oslo.Notification{MessageID: oslo.NewUUID(), EventType: "drain", Priority: "INFO", UniqueID: oslo.NewID(), Payload: []byte{'0' + byte(i)}}
		publishRaw(t, conn, exchange, key, jsonMsg(n.Encode()))
	}
	<-started
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- l.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned while a handler ran: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	h1 := handled
	mu.Unlock()
	if h1 < 1 {
		t.Fatalf("handled %d", h1)
	}
	// Handled ones were acked; the others are back in the queue.
	if n := queueMessages(t, conn, key); n != 3-h1 {
		t.Errorf("%d messages in the queue after handling %d of 3", n, h1)
	}
}

// TestDuplicateWindowSharedAcrossListeners: a notification re-published
// with the same _unique_id after 20 others (beyond oslo's 16) is dropped,
// by a second listener that took over the first one's queue and window.
func TestDuplicateWindowSharedAcrossListeners(t *testing.T) {
	conn := broker(t)
	exchange := pypeer.UniqueName(t, "lx")
	topic := pypeer.UniqueName(t, "ldup")
	key := topic + ".info"
	t.Cleanup(func() {
		ch, _, err := conn.Channel(context.Background())
		if err == nil {
			_, _ = ch.QueueDelete(key, false, false, false)
			_ = ch.Close()
		}
	})
	window := dedup.New(time.Minute, 1000)
	start := func(c *calls) *Listener {
		l, err := New(over(conn), Config{Exchange: exchange, Targets: []Target{{Topic: topic}},
			Priorities: []string{"info"}, Handler: c, Executor: newBlockingExecutor(), Duplicates: window})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return l
	}
	note := func(event string) *oslo.Notification {
		return &oslo.Notification{MessageID: oslo.NewUUID(), PublisherID: "raw", EventType: event, Priority: "INFO",
			Payload: []byte(`{}`), Timestamp: oslo.Timestamp(time.Now()), UniqueID: oslo.NewID()}
	}
	first := newCalls()
	l1 := start(first)
	dup := note("dup")
	publishRaw(t, conn, exchange, key, jsonMsg(dup.Encode()))
	for i := 0; i < 20; i++ {
		publishRaw(t, conn, exchange, key, jsonMsg(note("other").Encode()))
	}
	for i := 0; i < 21; i++ {
		first.next(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	second := newCalls()
	l2 := start(second)
	publishRaw(t, conn, exchange, key, jsonMsg(dup.Encode()))
	publishRaw(t, conn, exchange, key, jsonMsg(note("after").Encode()))
	if m := second.next(t); m.EventType != "after" {
		t.Fatalf("the re-published notification was handled again (got %s first)", m.EventType)
	}
	if err := l2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
