package intake

import (
	"context"
	"fmt"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/rabbit"
)

// TooLargeError is the refusal of a body over Config.MaxBodySize.
type TooLargeError struct {
	Size, Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("body of %d bytes exceeds the limit of %d", e.Size, e.Limit)
}

// deliver runs on the consumer's goroutine for each delivery: check,
// decode, drop duplicates, screen, then hand to the executor (or the
// batcher). The one Msg made here is what the handler gets.
func (in *Intake[M]) deliver(ctx context.Context, d amqp.Delivery) {
	m := &Msg[M]{Delivery: d, Received: time.Now()}
	dd := &m.Delivery
	body, err := in.body(dd)
	if err == nil {
		m.Message, err = in.cfg.Decode(dd, body)
	}
	if err != nil {
		_ = dd.Reject(false)
		if in.cfg.Refused != nil {
			in.cfg.Refused(dd, body, err)
		} else {
			in.log.Warn(in.malformedLine, "error", err, "routing_key", dd.RoutingKey, "bytes", len(dd.Body))
		}
		in.observe(Dropped)
		return
	}
	if uid := in.cfg.UniqueID(m.Message); in.dups.Contains(uid) {
		// Python leaves a duplicate notification unacked until the
		// connection closes; acking it keeps the prefetch window free.
		in.log.Warn(in.dupLine, in.fields(m.Message, "unique_id", uid)...)
		_ = dd.Ack(false)
		return
	}
	if in.cfg.Screen != nil && !in.cfg.Screen(dd, m.Message) {
		in.ack(m)
		return
	}
	if in.cfg.Policy == AckAfterHandling {
		in.mu.Lock()
		if in.stopping {
			in.mu.Unlock()
			// Hold it until the consumer stops, then give it back: a nack
			// now would bring it straight back while the intake drains.
			select {
			case <-ctx.Done():
			case <-in.released:
			}
			_ = dd.Nack(false, true)
			return
		}
		in.inflight.Add(1)
		in.mu.Unlock()
		if in.batch != nil {
			in.batch.add(m)
			return
		}
		err = in.cfg.Executor.Submit(ctx, func() {
			defer in.inflight.Done()
			in.settle(m, in.cfg.Handle(in.hardCtx, m))
		})
	} else {
		// The consumer stops (and its handler calls return) before
		// Shutdown waits for inflight: no Add comes after the Wait.
		in.inflight.Add(1)
		err = in.cfg.Executor.Submit(ctx, func() { in.runAcked(m) })
	}
	if err != nil {
		in.inflight.Done()
		_ = dd.Nack(false, true) // not started: back to the queue
	}
}

// body checks the size, decompresses and checks the content type. A wrong
// content type returns the body with the error, so that Refused can still
// read the message; a decompression failure returns none.
func (in *Intake[M]) body(d *amqp.Delivery) ([]byte, error) {
	if len(d.Body) > in.cfg.MaxBodySize {
		return d.Body, &TooLargeError{Size: len(d.Body), Limit: in.cfg.MaxBodySize}
	}
	return rabbit.JSONBody(d, in.cfg.MaxBodySize)
}

// runAcked is AckOnReceipt's task: ack, record, handle.
func (in *Intake[M]) runAcked(m *Msg[M]) {
	defer in.inflight.Done()
	if err := m.Delivery.Ack(false); err != nil {
		// The broker gives the unacked message to the next session; it
		// must not be taken for a duplicate then, so it is not recorded
		// (as in oslo, whose duplicate check follows the ack).
		in.log.Warn(in.ackLine, in.fields(m.Message, "error", err)...)
		return
	}
	uid := in.cfg.UniqueID(m.Message)
	if in.dups.Seen(uid, m.TTL()) { // a copy was taken meanwhile
		in.log.Warn(in.dupLine, in.fields(m.Message, "unique_id", uid)...)
		return
	}
	in.cfg.Handle(in.hardCtx, m)
}

// dispatchBatch runs one batch on the executor.
func (in *Intake[M]) dispatchBatch(batch []*Msg[M]) {
	err := in.cfg.Executor.Submit(in.hardCtx, func() {
		vs := in.cfg.Batch.Handle(in.hardCtx, batch)
		for i, m := range batch {
			v := Requeued
			if i < len(vs) {
				v = vs[i]
			}
			in.settle(m, v)
			in.inflight.Done()
		}
	})
	if err != nil {
		for _, m := range batch {
			_ = m.Delivery.Nack(false, true)
			in.inflight.Done()
		}
	}
}

// settle acks or requeues a handled message (AckAfterHandling).
func (in *Intake[M]) settle(m *Msg[M], v Verdict) {
	if v == Requeued {
		if err := m.Delivery.Reject(true); err != nil {
			in.log.Warn(in.requeueLine, in.fields(m.Message, "error", err)...)
		}
	} else {
		in.ack(m)
	}
	in.observe(v)
}

// ack acks m and records its _unique_id as handled (even when the ack
// fails: the broker then delivers it again, and the duplicate window
// drops it, as oslo's msg_id_cache does).
func (in *Intake[M]) ack(m *Msg[M]) {
	uid := in.cfg.UniqueID(m.Message)
	if err := m.Delivery.Ack(false); err != nil {
		in.log.Warn(in.ackLine, in.fields(m.Message, "error", err, "unique_id", uid)...)
	}
	in.dups.Seen(uid, m.TTL())
}

func (in *Intake[M]) observe(v Verdict) {
	if in.cfg.Observe != nil {
		in.cfg.Observe(v)
	}
}

// fields are kv followed by Describe's fields of msg.
func (in *Intake[M]) fields(msg M, kv ...any) []any {
	if in.cfg.Describe != nil {
		kv = append(kv, in.cfg.Describe(msg)...)
	}
	return kv
}

// expiration is a delivery's time to live (0 when it has none).
func expiration(d *amqp.Delivery) time.Duration {
	if d.Expiration == "" {
		return 0
	}
	ms, err := strconv.ParseInt(d.Expiration, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
