package pypeer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// NotifyListenerOptions configure StartNotifyListener. URL defaults to
// URL(), Exchange (the control exchange) to "openstack", Topics to one
// unique topic.
type NotifyListenerOptions struct {
	URL      string
	Exchange string
	// TargetExchange is Target.exchange of every target ("" for none).
	TargetExchange string
	Topics         []string
	Pool           string
	AllowRequeue   bool
	// RequeueFirst makes the endpoint return REQUEUE the first time it
	// sees a message_id.
	RequeueFirst bool
	Peer         Peer // the oslo.messaging to run; 14.0.3 when zero
}

// Notification is one endpoint call of the Python listener: exactly the
// arguments oslo passed to the endpoint method named Priority.
type Notification struct {
	Priority    string          `json:"priority"` // the endpoint method (lower case)
	Ctxt        map[string]any  `json:"ctxt"`
	PublisherID string          `json:"publisher_id"`
	EventType   string          `json:"event_type"`
	Payload     json.RawMessage `json:"payload"`
	Metadata    struct {
		MessageID string `json:"message_id"`
		Timestamp string `json:"timestamp"`
	} `json:"metadata"`
	// Result is what the endpoint returned: "handled" or "requeue".
	Result string `json:"result"`
}

// NotifyListener is a running Python oslo.messaging notification listener
// (py/oslo_notify_listener.py). Its methods are safe for concurrent use.
type NotifyListener struct {
	opts NotifyListenerOptions
	proc *proc

	mu      sync.Mutex
	got     []Notification
	changed chan struct{}
}

// StartNotifyListener starts a Python get_notification_listener (threading
// executor) with one endpoint implementing every priority, and returns
// once its queues are declared and it consumes (bounded by 30 s). It is
// stopped in t.Cleanup.
func StartNotifyListener(t testing.TB, o NotifyListenerOptions) *NotifyListener {
	t.Helper()
	if o.URL == "" {
		o.URL = URL()
	}
	if o.Exchange == "" {
		o.Exchange = "openstack"
	}
	if len(o.Topics) == 0 {
		o.Topics = []string{UniqueName(t, "pynotif")}
	}
	Python(t)
	requireBroker(t, o.URL)
	l := &NotifyListener{opts: o, changed: make(chan struct{})}
	args := []string{"--url", o.URL, "--exchange", o.Exchange, "--topics", strings.Join(o.Topics, ",")}
	if o.TargetExchange != "" {
		args = append(args, "--target-exchange", o.TargetExchange)
	}
	if o.Pool != "" {
		args = append(args, "--pool", o.Pool)
	}
	if o.AllowRequeue {
		args = append(args, "--allow-requeue")
	}
	if o.RequeueFirst {
		args = append(args, "--requeue-first")
	}
	l.proc = startProc(t, o.Peer, "oslo_notify_listener.py", args, true, l.onLine)
	return l
}

// Options returns the effective options (defaults filled in).
func (l *NotifyListener) Options() NotifyListenerOptions { return l.opts }

// Stderr returns what the listener logged so far.
func (l *NotifyListener) Stderr() string { return l.proc.stderr.String() }

func (l *NotifyListener) onLine(line string, diag io.Writer) {
	rest, ok := strings.CutPrefix(line, "NOTIFY ")
	if !ok {
		fmt.Fprintf(diag, "pypeer: unexpected stdout line: %s\n", line)
		return
	}
	var n Notification
	if err := json.Unmarshal([]byte(rest), &n); err != nil {
		fmt.Fprintf(diag, "pypeer: bad NOTIFY line %q: %v\n", line, err)
		return
	}
	l.mu.Lock()
	l.got = append(l.got, n)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// Notifications waits until at least n endpoint calls happened and returns
// all of them so far, in arrival order (a requeued notification appears
// once per call). It gives up when ctx ends or the listener exits,
// returning what arrived and an error.
func (l *NotifyListener) Notifications(ctx context.Context, n int) ([]Notification, error) {
	for {
		l.mu.Lock()
		got := append([]Notification(nil), l.got...)
		changed := l.changed
		l.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return got, fmt.Errorf("pypeer: waiting for %d notifications, got %d: %w", n, len(got), ctx.Err())
		case <-l.proc.exited:
			l.mu.Lock()
			got = append([]Notification(nil), l.got...)
			l.mu.Unlock()
			if len(got) >= n {
				return got, nil
			}
			return got, fmt.Errorf("waiting for %d notifications, got %d: %w", n, len(got), ErrExited)
		}
	}
}
