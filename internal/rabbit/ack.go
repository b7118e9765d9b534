package rabbit

import (
	"runtime"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// batchAcker is the Acknowledger of the deliveries of one channel with one
// consumer (so its delivery tags reach the handler in order) whose acks are
// asked for from many goroutines at once. An Ack returns once the delivery
// is acked, as with the channel itself, but acks asked for together go out
// as one basic.ack with multiple set: the asker marks its tag, yields the
// processor once so that goroutines made runnable with it (the calls of one
// burst of deliveries) mark theirs, and then acks, with multiple, the whole
// run of marked tags that follows the last acked one; those whose tags were
// covered return without writing. A tag marked after a gap (an earlier
// delivery not yet acked) is acked alone. Nack and Reject go out at once.
//
// RabbitMQ closes the channel for a basic.ack whose tag is not outstanding,
// even with multiple set, so a multiple ack always names a tag that is:
// the highest marked-not-yet-acked one of the run.
type batchAcker struct {
	ch   amqp.Acknowledger
	wire *wire // held while acking, so acks and publishes made together are written together

	mu    sync.Mutex
	acked uint64          // every tag up to this one is settled
	marks map[uint64]bool // tags above acked: true asked for, false settled alone
}

func newBatchAcker(ch amqp.Acknowledger, w *wire) *batchAcker {
	return &batchAcker{ch: ch, wire: w, marks: map[uint64]bool{}}
}

func (a *batchAcker) Ack(tag uint64, multiple bool) error {
	if multiple { // not asked for by our handlers; keep it exact
		a.mu.Lock()
		defer a.mu.Unlock()
		err := a.ch.Ack(tag, true)
		if err == nil && tag > a.acked {
			for t := a.acked + 1; t <= tag; t++ {
				delete(a.marks, t)
			}
			a.acked = tag
		}
		return err
	}
	a.wire.hold()
	defer a.wire.release()
	a.mu.Lock()
	if tag <= a.acked {
		a.mu.Unlock()
		return nil
	}
	a.marks[tag] = true
	a.mu.Unlock()

	runtime.Gosched()

	a.mu.Lock()
	defer a.mu.Unlock()
	if asked, ok := a.marks[tag]; tag <= a.acked || (ok && !asked) {
		return nil // covered by another's ack meanwhile
	}
	// The run of settled or asked-for tags right after acked.
	end, last := a.acked, uint64(0)
	for {
		asked, ok := a.marks[end+1]
		if !ok {
			break
		}
		end++
		if asked {
			last = end
		}
	}
	if tag > end { // after a gap: alone
		if err := a.ch.Ack(tag, false); err != nil {
			return err
		}
		a.marks[tag] = false
		return nil
	}
	if err := a.ch.Ack(last, true); err != nil {
		return err
	}
	for t := a.acked + 1; t <= end; t++ {
		delete(a.marks, t)
	}
	a.acked = end
	return nil
}

func (a *batchAcker) Nack(tag uint64, multiple, requeue bool) error {
	return a.settle(tag, multiple, func() error { return a.ch.Nack(tag, multiple, requeue) })
}

func (a *batchAcker) Reject(tag uint64, requeue bool) error {
	return a.settle(tag, false, func() error { return a.ch.Reject(tag, requeue) })
}

// settle sends a nack or reject at once and notes the tag as settled.
func (a *batchAcker) settle(tag uint64, multiple bool, send func() error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := send(); err != nil {
		return err
	}
	if multiple {
		for t := a.acked + 1; t <= tag; t++ {
			delete(a.marks, t)
		}
		a.acked = max(a.acked, tag)
	} else if tag > a.acked {
		a.marks[tag] = false
	}
	return nil
}
