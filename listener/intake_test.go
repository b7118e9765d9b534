package listener

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/oslo"
)

// memListener is a Listener on an in-memory Source.
func memListener(t *testing.T, cfg Config) (*Listener, *intake.Memory) {
	t.Helper()
	src := intake.NewMemory()
	if cfg.Targets == nil {
		cfg.Targets = []Target{{Topic: "mem"}}
	}
	if cfg.Executor == nil {
		cfg.Executor = executors.NewBlocking()
	}
	l, err := newListener(transportx.NewShared(nil, rabbit.Options{}, "x", nil, false), src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l, src
}

func notePub(event, priority string) amqp.Publishing {
	n := &oslo.Notification{MessageID: oslo.NewUUID(), PublisherID: "pub", EventType: event, Priority: priority,
		Payload: []byte(`{"k": "v"}`), Timestamp: "2026-12-03 12:00:00", UniqueID: oslo.NewID()}
	return amqp.Publishing{ContentType: "application/json", Body: n.Encode()}
}

// TestListenerSettles: each notification is settled as before the
// intake: the handler's result, requeue limits, and what never reaches
// the handler (a priority not known or not listened to, filtered out,
// malformed).
func TestListenerSettles(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		pub      amqp.Publishing
		result   func(attempt int) (Result, error)
		settled  string // the settlements, in order
		observed string
		attempts []int // what the handler saw
	}{
		{name: "handled", pub: notePub("e", "INFO"), settled: "[ack]", observed: "[handled]", attempts: []int{1}},
		{name: "requeued until the limit", cfg: Config{AllowRequeue: true, MaxRequeues: 2}, pub: notePub("e", "INFO"),
			result:  func(int) (Result, error) { return Requeue, nil },
			settled: "[reject+requeue reject+requeue ack]", observed: "[requeued requeued dropped]", attempts: []int{1, 2, 3}},
		{name: "requeue not allowed", pub: notePub("e", "INFO"),
			result:  func(int) (Result, error) { return Requeue, nil },
			settled: "[ack]", observed: "[dropped]", attempts: []int{1}},
		{name: "an error requeues", cfg: Config{AllowRequeue: true}, pub: notePub("e", "INFO"),
			result: func(a int) (Result, error) {
				if a == 1 {
					return Handled, fmt.Errorf("boom")
				}
				return Handled, nil
			},
			settled: "[reject+requeue ack]", observed: "[requeued handled]", attempts: []int{1, 2}},
		{name: "a panic requeues", cfg: Config{AllowRequeue: true}, pub: notePub("e", "INFO"),
			result: func(a int) (Result, error) {
				if a == 1 {
					panic("boom")
				}
				return Handled, nil
			},
			settled: "[reject+requeue ack]", observed: "[requeued handled]", attempts: []int{1, 2}},
		{name: "unknown priority", pub: notePub("e", "NOTICE"), settled: "[ack]", observed: "[]"},
		{name: "priority not listened to", cfg: Config{Priorities: []string{"error"}}, pub: notePub("e", "INFO"), settled: "[ack]", observed: "[]"},
		{name: "filtered out", cfg: Config{Filter: &Filter{EventType: regexp.MustCompile(`^compute\.`)}}, pub: notePub("image.upload", "INFO"), settled: "[ack]", observed: "[]"},
		{name: "malformed", pub: amqp.Publishing{ContentType: "application/json", Body: []byte(`{"priority": 7}`)}, settled: "[reject]", observed: "[dropped]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var attempts []int
			var observed []string
			cfg := tt.cfg
			cfg.Observe = func(o string) { mu.Lock(); observed = append(observed, o); mu.Unlock() }
			cfg.Handler = HandlerFunc(func(_ context.Context, m *Message) (Result, error) {
				mu.Lock()
				attempts = append(attempts, m.Attempts)
				mu.Unlock()
				if m.Priority != "info" || m.Topic != "mem" || string(m.Payload) != `{"k": "v"}` {
					t.Errorf("message %+v", m)
				}
				if tt.result != nil {
					return tt.result(m.Attempts)
				}
				return Handled, nil
			})
			l, src := memListener(t, cfg)
			want := len(strings.Fields(strings.Trim(tt.settled, "[]")))
			src.Publish("mem.info", tt.pub)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := src.WaitSettled(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != tt.settled || fmt.Sprint(observed) != tt.observed || fmt.Sprint(attempts) != fmt.Sprint(tt.attempts) {
				t.Errorf("settled %v observed %v attempts %v; want %s %s %v", got, observed, attempts, tt.settled, tt.observed, tt.attempts)
			}
		})
	}
}
