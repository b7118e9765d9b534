package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// TestReplySenderMissingQueue: replies to an existing queue go through, a
// reply to a missing queue is retried for the window, then abandoned and
// its queue remembered as obsolete; a heartbeat to it fails at once. Needs
// the broker.
func TestReplySenderMissingQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the broker")
	}
	raw := os.Getenv("OSLOHOST_TRANSPORT_URL")
	if raw == "" {
		raw = "rabbit://guest:guest@127.0.0.1:5672/"
	}
	u, err := rabbit.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "reply-sender-test"})
	if err != nil {
		t.Skipf("no broker: %v", err)
	}
	defer conn.Close()
	ch, _, err := conn.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newReplySender(conn.Publish, hclog.NewNullLogger(), rabbit.Options{DirectMandatoryFlag: true, MissingConsumerRetryTimeout: 700 * time.Millisecond})
	for i := range 3 {
		if err := s.send(ctx, q.Name, &oslo.Reply{MsgID: fmt.Sprint(i), Ending: true}); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if n, err := ch.QueueDeclarePassive(q.Name, false, true, true, false, nil); err != nil || n.Messages != 3 {
		t.Fatalf("queue holds %d replies (%v), want 3", n.Messages, err)
	}
	missing := fmt.Sprintf("reply_missing_%d", time.Now().UnixNano())
	if err := s.send(ctx, missing, oslo.Heartbeat("h")); !errors.Is(err, errReplyQueueGone) {
		t.Fatalf("heartbeat to a missing queue: %v", err)
	}
	start := time.Now()
	if err := s.send(ctx, missing, &oslo.Reply{MsgID: "m", Ending: true}); !errors.Is(err, errReplyQueueGone) {
		t.Fatalf("reply to a missing queue: %v", err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Fatalf("abandoned after %v, before the window", d)
	}
	if !s.isObsolete(missing) {
		t.Fatal("the missing queue is not remembered as obsolete")
	}
}
