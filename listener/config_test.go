package listener

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/rabbit"
)

var nopHandler = HandlerFunc(func(context.Context, *Message) (Result, error) { return Handled, nil })

var nopBatch = BatchHandlerFunc(func(context.Context, []*Message) ([]Result, error) { return nil, nil })

func TestNewValidates(t *testing.T) {
	conn := &rabbit.Conn{} // never dialled: New does no I/O
	target := []Target{{Topic: "t"}}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no transport", Config{Targets: target, Handler: nopHandler}, "transport is required"},
		{"no target", Config{Handler: nopHandler}, "no target"},
		{"empty topic", Config{Targets: []Target{{}}, Handler: nopHandler}, "no topic"},
		{"no handler", Config{Targets: target}, "Handler is required"},
		{"batch handler without batch", Config{Targets: target, BatchHandler: nopBatch}, "needs Batch"},
		{"batch without batch handler", Config{Targets: target, Handler: nopHandler, Batch: &BatchConfig{Size: 2}}, "needs a BatchHandler"},
		{"both handlers", Config{Targets: target, Handler: nopHandler, BatchHandler: nopBatch, Batch: &BatchConfig{Size: 2}}, "not both"},
		{"batch size 0", Config{Targets: target, BatchHandler: nopBatch, Batch: &BatchConfig{}}, "batch size"},
		{"bad priority", Config{Targets: target, Handler: nopHandler, Priorities: []string{"warning"}}, `unknown priority "warning"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := over(conn)
			if tt.want == "transport is required" {
				tr = nil
			}
			_, err := New(tr, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	conn := &rabbit.Conn{}
	l, err := New(over(conn), Config{Targets: []Target{{Topic: "t"}}, Handler: nopHandler, Priorities: []string{"INFO"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.MaxRequeues != DefaultMaxRequeues || l.cfg.Exchange != "openstack" || l.prefetch != DefaultWorkers {
		t.Errorf("defaults: max requeues %d, exchange %q, prefetch %d", l.cfg.MaxRequeues, l.cfg.Exchange, l.prefetch)
	}
	if q := l.Queues(); len(q) != 1 || q[0] != "t.info" {
		t.Errorf("queues %v, want [t.info] (priority lower-cased)", q)
	}
	// Shutdown before Start is a no-op.
	if err := l.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}

	all, err := New(over(conn), Config{Targets: []Target{{Topic: "t"}}, Handler: nopHandler, MaxRequeues: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Queues()) != 7 || all.cfg.MaxRequeues != -1 {
		t.Errorf("queues %v, max requeues %d", all.Queues(), all.cfg.MaxRequeues)
	}

	// Batches: prefetch is capacity times size, and a batch is capped by
	// an explicit smaller prefetch.
	b, err := New(over(conn), Config{Targets: []Target{{Topic: "t"}}, BatchHandler: nopBatch,
		Batch: &BatchConfig{Size: 10, Timeout: time.Second}, Executor: executors.NewPool(2)})
	if err != nil {
		t.Fatal(err)
	}
	if b.prefetch != 20 || b.batchSize != 10 {
		t.Errorf("prefetch %d, batch size %d; want 20 and 10", b.prefetch, b.batchSize)
	}
	c, err := New(over(conn), Config{Targets: []Target{{Topic: "t"}}, BatchHandler: nopBatch,
		Batch: &BatchConfig{Size: 10}, Prefetch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if c.batchSize != 4 {
		t.Errorf("batch size %d, want the prefetch 4", c.batchSize)
	}
}

func newBlockingExecutor() executors.Executor { return executors.NewBlocking() }
