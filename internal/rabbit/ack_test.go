package rabbit

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// brokerAcks models RabbitMQ's side of a channel's acks: which delivery
// tags are outstanding, and the channel error for an ack, nack or reject
// naming a tag that is not (rabbit_channel's collect_acks).
type brokerAcks struct {
	mu          sync.Mutex
	outstanding map[uint64]bool
	settled     map[uint64]string
	frames      int
}

func newBrokerAcks(n int) *brokerAcks {
	b := &brokerAcks{outstanding: map[uint64]bool{}, settled: map[uint64]string{}}
	for t := uint64(1); t <= uint64(n); t++ {
		b.outstanding[t] = true
	}
	return b
}

func (b *brokerAcks) settle(tag uint64, multiple bool, how string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames++
	if !b.outstanding[tag] {
		return fmt.Errorf("PRECONDITION_FAILED - unknown delivery tag %d (%s)", tag, how)
	}
	for t := range b.outstanding {
		if t == tag || (multiple && t < tag) {
			delete(b.outstanding, t)
			b.settled[t] = how
		}
	}
	return nil
}

func (b *brokerAcks) Ack(tag uint64, multiple bool) error { return b.settle(tag, multiple, "ack") }
func (b *brokerAcks) Nack(tag uint64, multiple, requeue bool) error {
	return b.settle(tag, multiple, "nack")
}
func (b *brokerAcks) Reject(tag uint64, requeue bool) error { return b.settle(tag, false, "reject") }

// TestBatchAckerSequences: acks in the orders a handler's workers produce
// them settle every tag as asked, never name a settled tag, and take one
// frame for a run asked for together.
func TestBatchAckerSequences(t *testing.T) {
	type op struct {
		how string // ack, nack, reject
		tag uint64
	}
	tests := []struct {
		name       string
		n          int
		ops        []op
		wantFrames int // -1: do not check
	}{
		{"in order", 3, []op{{"ack", 1}, {"ack", 2}, {"ack", 3}}, 3},
		{"gap then fill", 3, []op{{"ack", 2}, {"ack", 3}, {"ack", 1}}, 3},
		{"reject in the middle", 4, []op{{"ack", 1}, {"reject", 2}, {"ack", 4}, {"ack", 3}}, 4},
		{"nack before its run", 3, []op{{"nack", 1}, {"ack", 3}, {"ack", 2}}, 3},
		{"settled alone then covered", 5, []op{{"ack", 3}, {"ack", 5}, {"ack", 1}, {"ack", 2}, {"ack", 4}}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrokerAcks(tt.n)
			a := newBatchAcker(b, nil)
			for _, o := range tt.ops {
				var err error
				switch o.how {
				case "ack":
					err = a.Ack(o.tag, false)
				case "nack":
					err = a.Nack(o.tag, false, true)
				case "reject":
					err = a.Reject(o.tag, false)
				}
				if err != nil {
					t.Fatalf("%s %d: %v", o.how, o.tag, err)
				}
			}
			for _, o := range tt.ops {
				if got := b.settled[o.tag]; got != o.how {
					t.Errorf("tag %d settled by %q, want %q", o.tag, got, o.how)
				}
			}
			if len(b.outstanding) != 0 {
				t.Errorf("still outstanding: %v", b.outstanding)
			}
			if tt.wantFrames >= 0 && b.frames != tt.wantFrames {
				t.Errorf("%d frames, want %d", b.frames, tt.wantFrames)
			}
		})
	}
}

// TestBatchAckerConcurrent: many goroutines acking (and a few rejecting)
// at once, in random order, settle each tag once as asked without a
// channel error, in fewer frames than tags.
func TestBatchAckerConcurrent(t *testing.T) {
	const n = 2000
	b := newBrokerAcks(n)
	a := newBatchAcker(b, nil)
	perm := rand.Perm(n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, i := range perm {
		tag := uint64(i + 1)
		wg.Go(func() {
			if tag%17 == 0 {
				errs <- a.Reject(tag, false)
				return
			}
			errs <- a.Ack(tag, false)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for tag := uint64(1); tag <= n; tag++ {
		want := "ack"
		if tag%17 == 0 {
			want = "reject"
		}
		if b.settled[tag] != want {
			t.Fatalf("tag %d settled by %q, want %q", tag, b.settled[tag], want)
		}
	}
	if len(a.marks) != 0 {
		t.Errorf("acker still holds %d marks", len(a.marks))
	}
	t.Logf("%d tags settled in %d frames", n, b.frames)
}
