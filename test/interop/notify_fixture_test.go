package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/listener"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// Shapes of the generated notification fields (wire spec 7.3).
var (
	dashedUUID4   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	pyTimestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`)
)

// recorder is a listener handler that records every call and answers
// with decide (Handled when nil).
type recorder struct {
	decide func(m *listener.Message, call int) (listener.Result, error)

	mu      sync.Mutex
	got     []*listener.Message
	batches [][]*listener.Message
	changed chan struct{}
}

func newRecorder(decide func(m *listener.Message, call int) (listener.Result, error)) *recorder {
	return &recorder{decide: decide, changed: make(chan struct{})}
}

func (r *recorder) HandleNotification(_ context.Context, m *listener.Message) (listener.Result, error) {
	r.mu.Lock()
	r.got = append(r.got, m)
	n := len(r.got)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	if r.decide == nil {
		return listener.Handled, nil
	}
	return r.decide(m, n)
}

func (r *recorder) HandleNotifications(ctx context.Context, batch []*listener.Message) ([]listener.Result, error) {
	r.mu.Lock()
	r.batches = append(r.batches, batch)
	r.mu.Unlock()
	for _, m := range batch {
		if _, err := r.HandleNotification(ctx, m); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// wait returns the calls once there are at least n, failing t after d.
func (r *recorder) wait(t testing.TB, n int, d time.Duration) []*listener.Message {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		got := append([]*listener.Message(nil), r.got...)
		changed := r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %d notifications within %s, want %d", len(got), d, n)
		}
	}
}

func (r *recorder) calls() []*listener.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*listener.Message(nil), r.got...)
}

func (r *recorder) batchSizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, len(r.batches))
	for i, b := range r.batches {
		out[i] = len(b)
	}
	return out
}

// syncBuffer collects log output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startGoListener starts a listener on its own connection; it is shut
// down at cleanup (or earlier by the returned stop, idempotent).
func startGoListener(t testing.TB, cfg listener.Config) (l *listener.Listener, stop func()) {
	t.Helper()
	return startGoListenerURL(t, pypeer.URL(), cfg)
}

// startGoListenerURL is startGoListener on a connection to url (with the
// url's options).
func startGoListenerURL(t testing.TB, url string, cfg listener.Config) (l *listener.Listener, stop func()) {
	t.Helper()
	conn, u := dial(t, url, "listener")
	if cfg.Logger == nil {
		cfg.Logger = logger(t)
	}
	l, err := listener.New(wrap.Conn(conn, u.Options, "", nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := l.Shutdown(ctx); err != nil {
			t.Errorf("listener shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return l, stop
}

// captureLogger logs at Info into a buffer (and to stderr as logger does).
func captureLogger(t testing.TB) (hclog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Info, Output: buf}), buf
}

// queueState is a queue's ready message count and consumers.
type queueState struct {
	Messages, Consumers int
}

// inspectQueue declares name passively; ok is false when it does not exist.
func inspectQueue(t testing.TB, conn *rabbit.Conn, name string) (queueState, bool) {
	t.Helper()
	ch, _, err := conn.Channel(bg(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return queueState{}, false
	}
	if err != nil {
		t.Fatalf("inspect queue %q: %v", name, err)
	}
	return queueState{Messages: q.Messages, Consumers: q.Consumers}, true
}

// priorityQueues are the default notification queues of topic.
func priorityQueues(topic string) []string {
	var out []string
	for _, p := range oslo.Priorities() {
		out = append(out, topic+"."+p)
	}
	return out
}

// deleteQueues removes test queues at cleanup (they have no x-expires).
func deleteQueues(t testing.TB, names ...string) {
	t.Cleanup(func() {
		conn, _ := dialNoCleanup(t)
		if conn == nil {
			return
		}
		defer conn.Close()
		ch, _, err := conn.Channel(context.Background())
		if err != nil {
			return
		}
		defer ch.Close()
		for _, n := range names {
			_, _ = ch.QueueDelete(n, false, false, false)
		}
	})
}

func dialNoCleanup(t testing.TB) (*rabbit.Conn, error) {
	u, err := rabbit.ParseURL(pypeer.URL())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "cleanup"})
}

// waitQueueEmpty waits until name has no ready message, failing after d.
func waitQueueEmpty(t testing.TB, conn *rabbit.Conn, name string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		st, ok := inspectQueue(t, conn, name)
		if !ok {
			t.Fatalf("queue %q does not exist", name)
		}
		if st.Messages == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %q still has %d messages after %s", name, st.Messages, d)
		}
		time.Sleep(50 * time.Millisecond) // polling the broker: no event to wait for
	}
}

// contextJSON turns a context into plain values for comparisons.
func contextJSON(c oslo.Context) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(c)
	_ = json.Unmarshal(b, &m)
	return m
}

func rawJSON(t testing.TB, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON %s: %v", raw, err)
	}
	return v
}

func checkTimestamp(t testing.TB, ts string) {
	t.Helper()
	if !pyTimestampRe.MatchString(ts) {
		t.Errorf("timestamp %q is not Python's str(utcnow())", ts)
		return
	}
	when, err := oslo.ParseTimestamp(ts)
	if err != nil {
		t.Error(err)
		return
	}
	if d := time.Since(when); d < -time.Minute || d > 5*time.Minute {
		t.Errorf("timestamp %q is %s away from now (not UTC?)", ts, d)
	}
}

func describeMessage(m *listener.Message) string {
	return fmt.Sprintf("%s %s %s attempts=%d redelivered=%v", m.Priority, m.EventType, m.Metadata.MessageID, m.Attempts, m.Redelivered)
}
