package listener

import (
	"context"
	"fmt"

	"github.com/oslohost/oslohost/internal/intake"
)

// Running the handlers and turning their results into the intake's
// verdicts.

// handle runs the handler on one notification.
func (l *Listener) handle(ctx context.Context, m *intake.Msg[*item]) intake.Verdict {
	return l.verdict(m.Message, l.callHandler(ctx, m.Message))
}

// callHandler runs the handler; an error or a panic is a Requeue.
func (l *Listener) callHandler(ctx context.Context, it *item) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("notification handler panicked", "panic", fmt.Sprint(r), "event_type", it.msg.EventType, "message_id", it.msg.Metadata.MessageID)
			res = Requeue
		}
	}()
	res, err := l.cfg.Handler.HandleNotification(ctx, &it.msg)
	if err != nil {
		l.log.Warn("notification handler failed", "error", err, "event_type", it.msg.EventType, "message_id", it.msg.Metadata.MessageID)
		return Requeue
	}
	return res
}

// handleBatch runs the batch handler on one batch.
func (l *Listener) handleBatch(ctx context.Context, batch []*intake.Msg[*item]) []intake.Verdict {
	res := l.callBatchHandler(ctx, batch)
	vs := make([]intake.Verdict, len(batch))
	for i, m := range batch {
		vs[i] = l.verdict(m.Message, res[i])
	}
	return vs
}

// callBatchHandler returns one Result per message.
func (l *Listener) callBatchHandler(ctx context.Context, batch []*intake.Msg[*item]) (res []Result) {
	all := func(r Result) []Result {
		out := make([]Result, len(batch))
		for i := range out {
			out[i] = r
		}
		return out
	}
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("notification batch handler panicked", "panic", fmt.Sprint(r), "batch_size", len(batch))
			res = all(Requeue)
		}
	}()
	msgs := make([]*Message, len(batch))
	for i, m := range batch {
		msgs[i] = &m.Message.msg
	}
	got, err := l.cfg.BatchHandler.HandleNotifications(ctx, msgs)
	switch {
	case err != nil:
		l.log.Warn("notification batch handler failed", "error", err, "batch_size", len(batch))
		return all(Requeue)
	case got == nil:
		return all(Handled)
	case len(got) != len(batch):
		l.log.Error("notification batch handler returned the wrong number of results; requeueing the batch", "results", len(got), "batch_size", len(batch))
		return all(Requeue)
	}
	return got
}

// verdict is how a handled message is settled: a Requeue is requeued
// when allowed and not asked for too often, else dropped (acked).
func (l *Listener) verdict(it *item, res Result) intake.Verdict {
	m := &it.msg
	if res != Requeue {
		l.attempts.done(it.key)
		return intake.Handled
	}
	switch {
	case !l.cfg.AllowRequeue:
		l.log.Warn("handler asked to requeue but requeue is not allowed: notification dropped",
			"event_type", m.EventType, "message_id", m.Metadata.MessageID)
	case l.cfg.MaxRequeues >= 0 && m.Attempts > l.cfg.MaxRequeues:
		l.log.Error("dropping poison notification: requeued too often",
			"event_type", m.EventType, "message_id", m.Metadata.MessageID, "publisher_id", m.PublisherID,
			"priority", m.Priority, "attempts", m.Attempts, "max_requeues", l.cfg.MaxRequeues)
	default:
		l.attempts.requeued(it.key)
		return intake.Requeued
	}
	l.attempts.done(it.key)
	return intake.Dropped
}
