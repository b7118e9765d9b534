package cli

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestNotifyCommand sends notifications with `oslohost notify` to a real
// Python oslo.messaging NotificationListener.
func TestNotifyCommand(t *testing.T) {
	exchange := pypeer.UniqueName(t, "clinotifx")
	topic := pypeer.UniqueName(t, "clinotif")
	deleteNotifyQueues(t, topic)
	py := pypeer.StartNotifyListener(t, pypeer.NotifyListenerOptions{Exchange: exchange, Topics: []string{topic}})
	common := []string{"notify", "--url", py.Options().URL, "--control-exchange", exchange, "--topic", topic, "--connect-timeout", "20s"}

	code, stdout, stderr := runMain(t, append(common, "--event-type", "cli.event.warn", "--priority", "WARN",
		"--publisher-id", "cli.host1", "--payload", `{"a": [1, "é"]}`,
		"--context", "user_id=alice", "--context", `roles=["admin"]`, "--context", "auth_token=SECRET")...)
	if code != ExitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	code, _, stderr = runMain(t, append(common, "--event-type", "cli.event.default", "--payload", "plain text", "--driver", "messaging")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := py.Notifications(ctx, 2)
	if err != nil {
		t.Fatalf("%v\n%s", err, py.Stderr())
	}
	by := map[string]pypeer.Notification{}
	for _, n := range got {
		by[n.EventType] = n
	}
	w := by["cli.event.warn"]
	if w.Priority != "warn" || w.EventType != "cli.event.warn" || w.PublisherID != "cli.host1" || string(w.Payload) != `{"a": [1, "\u00e9"]}` {
		t.Errorf("got %+v (payload %s)", w, w.Payload)
	}
	if d := cmp.Diff(map[string]any{"user_id": "alice", "roles": []any{"admin"}, "client_timeout": nil}, w.Ctxt); d != "" {
		t.Errorf("ctxt (-want +got):\n%s", d)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(w.Metadata.MessageID) ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$`).MatchString(w.Metadata.Timestamp) {
		t.Errorf("metadata %+v", w.Metadata)
	}
	host, _ := os.Hostname()
	d := by["cli.event.default"]
	if d.Priority != "info" || d.PublisherID != "oslohost."+host || string(d.Payload) != `"plain text"` {
		t.Errorf("defaults: %+v (payload %s)", d, d.Payload)
	}
}

// deleteNotifyQueues removes topic's notification queues at cleanup
// (they have no x-expires); register it before the listener starts.
func deleteNotifyQueues(t *testing.T, topic string) {
	t.Cleanup(func() {
		u, err := rabbit.ParseURL(pypeer.URL())
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "cleanup"})
		if err != nil {
			return
		}
		defer conn.Close()
		ch, _, err := conn.Channel(ctx)
		if err != nil {
			return
		}
		defer ch.Close()
		for _, p := range oslo.Priorities() {
			_, _ = ch.QueueDelete(topic+"."+p, false, false, false)
		}
	})
}

func TestNotifyCommandUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"notify"}, `required flag(s) "event-type" not set`},
		{[]string{"notify", "--event-type", "e", "--priority", "warning"}, `invalid --priority "warning"`},
		{[]string{"notify", "--event-type", "e", "--driver", "log"}, `invalid --driver "log"`},
		{[]string{"notify", "--event-type", "e", "--topic", ""}, "empty --topic"},
		{[]string{"notify", "--event-type", "e", "--context", "novalue"}, "not key=value"},
		{[]string{"notify", "--event-type", "e", "extra"}, "unknown command"},
		{[]string{"notify", "--event-type", "e", "--url", "http://x"}, "invalid --url"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runMain(t, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}
