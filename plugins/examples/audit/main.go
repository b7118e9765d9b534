// Command audit is an oslohost plugin that records the notifications it
// receives and reports them over RPC: a notification handler "audit" of
// every priority, and an RPC endpoint in the namespace "audit" over what it
// recorded.
//
//	notifier.info(ctxt, "compute.instance.create.end", {"id": 1})  # recorded
//	notifier.info(ctxt, "demo.retry", {"requeue": True})            # requeued once, then recorded again
//
//	audit = client.prepare(namespace="audit", version="1.0")
//	audit.call(ctxt, "list")                                        # [{"seq": 1, "priority": "info", ...}, ...]
//	audit.call(ctxt, "list", event_type="compute.instance.create.end")
//	audit.call(ctxt, "count")                                       # 3
//	audit.call(ctxt, "clear")                                       # 3, and forgets everything
//
// It keeps the last 1000 notifications (the config block may change that).
// A notification whose payload is an object with "requeue": true is
// requeued the first time the plugin sees its message_id and handled when
// it comes back, to show a requeue leading to a redelivery; every delivery
// is recorded, with its result.
//
//	plugin "audit" {
//	  command = "./bin/plugins/audit"
//	  config  = { capacity = 1000 }
//	}
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/oslohost/oslohost/plugin/sdk"
)

// The RPC endpoint's target and the notification handler's name.
const (
	Namespace = "audit"
	Version   = "1.0"
	Handler   = "audit"
	// DefaultCapacity is how many notifications are kept by default.
	DefaultCapacity = 1000
)

// Config is the plugin's config block.
type Config struct {
	Capacity int `json:"capacity"` // notifications kept, > 0
}

// Record is one delivery of a notification, as list returns it.
type Record struct {
	// Seq numbers deliveries from 1, in the order received (reset by clear).
	Seq         int             `json:"seq"`
	Priority    string          `json:"priority"`
	PublisherID string          `json:"publisher_id"`
	EventType   string          `json:"event_type"`
	Payload     json.RawMessage `json:"payload"`
	Context     map[string]any  `json:"context"`
	MessageID   string          `json:"message_id"`
	Timestamp   string          `json:"timestamp"`
	Redelivered bool            `json:"redelivered"`
	Attempts    int             `json:"attempts"`
	// Result is what the plugin answered: "handled" or "requeue".
	Result string `json:"result"`
}

// Auditor is both the notification handler and the RPC endpoint. The host
// calls it concurrently, so its state is guarded by mu.
type Auditor struct {
	mu       sync.Mutex
	capacity int
	ring     []Record // the last capacity records; oldest at start once full
	start    int      // index of the oldest record in ring
	seq      int      // deliveries since the last clear
	requeued *idSet   // message ids requeued once already
}

// NewAuditor returns an Auditor keeping the last capacity notifications.
func NewAuditor(capacity int) *Auditor {
	return &Auditor{capacity: capacity, requeued: newIDSet(capacity)}
}

// Configure is the configure hook: it reads the capacity.
func (a *Auditor) Configure(ctx context.Context, cfg sdk.Config) error {
	conf := Config{Capacity: DefaultCapacity}
	if err := cfg.Decode(&conf); err != nil {
		return err
	}
	if conf.Capacity <= 0 {
		return fmt.Errorf("capacity must be positive, got %d", conf.Capacity)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.capacity = conf.Capacity
	a.ring, a.start, a.seq = nil, 0, 0
	a.requeued = newIDSet(conf.Capacity)
	sdk.Logger(ctx).Info("configured", "capacity", conf.Capacity)
	return nil
}

// Notify handles notifications of every priority: it records each one, and
// requeues one asking for it the first time its message_id is seen.
func (a *Auditor) Notify(ctx context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	var p struct {
		Requeue bool `json:"requeue"`
	}
	_ = n.DecodePayload(&p) // a payload that is not such an object asks for nothing

	a.mu.Lock()
	defer a.mu.Unlock()
	res := sdk.Handled
	if p.Requeue && n.MessageID != "" && a.requeued.add(n.MessageID) {
		res = sdk.Requeue
	}
	a.seq++
	a.record(Record{
		Seq:         a.seq,
		Priority:    n.Priority,
		PublisherID: n.PublisherID,
		EventType:   n.EventType,
		Payload:     n.Payload,
		Context:     n.Context,
		MessageID:   n.MessageID,
		Timestamp:   n.Timestamp,
		Redelivered: n.Redelivered,
		Attempts:    n.Attempts,
		Result:      res.String(),
	})
	sdk.Logger(ctx).Debug("recorded", "seq", a.seq, "result", res.String())
	return res, nil
}

// record appends r to the ring, dropping the oldest when full. a.mu is held.
func (a *Auditor) record(r Record) {
	if len(a.ring) < a.capacity {
		a.ring = append(a.ring, r)
		return
	}
	a.ring[a.start] = r
	a.start = (a.start + 1) % len(a.ring)
}

// ListArgs are the keyword arguments of list.
type ListArgs struct {
	// EventType keeps only notifications of this event_type; "" or left
	// out (omitempty: an optional argument) keeps all.
	EventType string `json:"event_type,omitempty"`
}

// List returns the recorded notifications, oldest first, optionally only
// those of one event_type.
func (a *Auditor) List(ctx context.Context, args ListArgs) ([]Record, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []Record{}
	for i := range a.ring {
		r := a.ring[(a.start+i)%len(a.ring)]
		if args.EventType == "" || r.EventType == args.EventType {
			out = append(out, r)
		}
	}
	return out, nil
}

// Count returns how many notifications were received since the start or the
// last clear, including those no longer kept.
func (a *Auditor) Count(ctx context.Context) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seq, nil
}

// Clear forgets every recorded notification and which were requeued, and
// returns how many were received before.
func (a *Auditor) Clear(ctx context.Context) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.seq
	a.ring, a.start, a.seq = nil, 0, 0
	a.requeued = newIDSet(a.capacity)
	return n, nil
}

// idSet is a set of ids bounded to the last max added. Not safe for
// concurrent use.
type idSet struct {
	max   int
	ids   map[string]bool
	order []string
}

func newIDSet(max int) *idSet { return &idSet{max: max, ids: map[string]bool{}} }

// add adds id and reports whether it was new, forgetting the oldest id when
// the set is full.
func (s *idSet) add(id string) bool {
	if s.ids[id] {
		return false
	}
	if len(s.order) == s.max {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
	s.ids[id] = true
	s.order = append(s.order, id)
	return true
}

// servables returns the plugin's endpoint and handler over one fresh Auditor.
func servables() []sdk.Servable {
	a := NewAuditor(DefaultCapacity)
	return []sdk.Servable{
		sdk.Endpoint{Namespace: Namespace, Version: Version, Impl: a},
		sdk.Notifications{Name: Handler, Impl: a},
	}
}

func main() {
	sdk.ServeAll(servables()...)
}
