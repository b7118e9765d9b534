package server

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// errReplyQueueGone: the caller's reply queue does not exist (any more).
var errReplyQueueGone = errors.New("reply queue missing")

// replySender publishes replies and heartbeats to the default exchange,
// keyed by the caller's reply queue, mandatory, as oslo does. A reply whose
// queue is missing is retried every 0.25 s for up to the missing-consumer
// timeout, then abandoned, and the queue is remembered as obsolete for that
// long (200 names at most) so later replies to it are dropped at once
// (amqpdriver.py ObsoleteReplyQueuesCache).
type replySender struct {
	publish   func(context.Context, rabbit.Message) error // rabbit.Conn.Publish
	log       hclog.Logger
	mandatory bool
	window    time.Duration

	mu       sync.Mutex
	obsolete map[string]time.Time

	bound atomic.Pointer[boundCtx] // shared bound of first sends, see bounded
}

// boundCtx is a context ending some time after made, shared by the sends
// made with the same parent until half its time is gone.
type boundCtx struct {
	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc // not called: its timer ends it
	renew  time.Time          // past this, sends make a new one
}

func newReplySender(publish func(context.Context, rabbit.Message) error, log hclog.Logger, o rabbit.Options) *replySender {
	w := o.MissingConsumerRetryTimeout
	if w <= 0 {
		w = 60 * time.Second
	}
	return &replySender{publish: publish, log: log, mandatory: o.DirectMandatoryFlag, window: w, obsolete: map[string]time.Time{}}
}

// send publishes r to replyQ. Heartbeats are tried once: a missing queue
// ends them (the caller is gone).
func (s *replySender) send(ctx context.Context, replyQ string, r *oslo.Reply) error {
	if s.isObsolete(replyQ) {
		s.log.Warn("reply queue does not exist, dropping reply", "reply_q", replyQ, "msg_id", r.MsgID)
		return errReplyQueueGone
	}
	body, err := r.Encode()
	if err != nil {
		return err
	}
	start := time.Now()
	first, cancel := s.bounded(ctx, start, r.Ending)
	err = s.publish(first, rabbit.Message{Key: replyQ, Body: body, Mandatory: s.mandatory, Retries: -1})
	cancel()
	var ret *rabbit.ReturnedError
	if !errors.As(err, &ret) {
		return err
	}
	if !r.Ending {
		return errReplyQueueGone
	}
	// The reply queue is missing: retried until the window since start.
	ctx, cancel = context.WithDeadline(ctx, start.Add(s.window))
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			s.markObsolete(replyQ)
			s.log.Error("reply failed to send: the reply queue is missing; abandoning",
				"msg_id", r.MsgID, "reply_q", replyQ, "after", time.Since(start).Round(time.Millisecond))
			return errReplyQueueGone
		case <-time.After(250 * time.Millisecond):
		}
		err := s.publish(ctx, rabbit.Message{Key: replyQ, Body: body, Mandatory: s.mandatory, Retries: -1})
		if !errors.As(err, &ret) {
			return err
		}
	}
}

// bounded is ctx bounded for a first send started at now, and the func
// to call when it is done. A heartbeat's is the window exactly. Replies
// (made with the server's context, all of them) share one timer-backed
// context, made anew every half window, instead of one each: it ends
// between one and one and a half windows after a reply's send starts, and
// only by its timer, so at most three are alive at once per sender.
func (s *replySender) bounded(ctx context.Context, now time.Time, shared bool) (context.Context, context.CancelFunc) {
	if !shared {
		return context.WithTimeout(ctx, s.window)
	}
	if b := s.bound.Load(); b != nil && b.parent == ctx && now.Before(b.renew) {
		return b.ctx, func() {}
	}
	bctx, cancel := context.WithTimeout(ctx, s.window+s.window/2)
	s.bound.Store(&boundCtx{parent: ctx, ctx: bctx, cancel: cancel, renew: now.Add(s.window / 2)})
	return bctx, func() {}
}

func (s *replySender) isObsolete(q string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.obsolete[q]
	if ok && time.Since(t) > s.window {
		delete(s.obsolete, q)
		return false
	}
	return ok
}

func (s *replySender) markObsolete(q string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.obsolete) >= 200 {
		var oldest string
		var ot time.Time
		for k, t := range s.obsolete {
			if oldest == "" || t.Before(ot) {
				oldest, ot = k, t
			}
		}
		delete(s.obsolete, oldest)
	}
	s.obsolete[q] = time.Now()
}
