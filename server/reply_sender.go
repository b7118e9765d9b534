package server

import (
	"context"
	"errors"
	"sync"
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
	ctx, cancel := context.WithTimeout(ctx, s.window)
	defer cancel()
	start := time.Now()
	for {
		err := s.publish(ctx, rabbit.Message{Key: replyQ, Body: body, Mandatory: s.mandatory, Retries: -1})
		var ret *rabbit.ReturnedError
		if !errors.As(err, &ret) {
			return err
		}
		if !r.Ending {
			return errReplyQueueGone
		}
		select {
		case <-ctx.Done():
			s.markObsolete(replyQ)
			s.log.Error("reply failed to send: the reply queue is missing; abandoning",
				"msg_id", r.MsgID, "reply_q", replyQ, "after", time.Since(start).Round(time.Millisecond))
			return errReplyQueueGone
		case <-time.After(250 * time.Millisecond):
		}
	}
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
