package client

import (
	"context"
	"sync"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// replyWaiter consumes a transport's reply queue and hands each reply to
// the call waiting for its _msg_id (oslo's ReplyWaiter). Safe for
// concurrent use.
type replyWaiter struct {
	queue    string
	consumer *rabbit.Consumer
	log      hclog.Logger

	mu      sync.Mutex
	waiting map[string]*pending
}

// pending is one call waiting for replies. Pendings are pooled: one per
// call in flight, its channel reused.
type pending struct {
	ch  chan *oslo.Reply
	ctx callCtx
}

// pendingBuffer is how many replies to one call may wait for it to read
// them; the reply waiter drops (and logs) what comes past that rather
// than hold back the replies of every other call. A call reads as they
// come; only a server sending the same reply over and over fills it.
const pendingBuffer = 8

var pendings = sync.Pool{New: func() any { return &pending{ch: make(chan *oslo.Reply, pendingBuffer)} }}

func startReplyWaiter(conn *rabbit.Conn, topo rabbit.Topology, unique func() string, log hclog.Logger) *replyWaiter {
	q := topo.ReplyQueue(unique)
	w := &replyWaiter{queue: q.Name, log: log, waiting: map[string]*pending{}}
	w.consumer = conn.Consume(rabbit.ConsumeSpec{
		Name:    "reply",
		Declare: rabbit.Declarations{Queues: []rabbit.QueueDecl{q}},
		Queues:  []string{q.Name},
		// Replies are acked as they arrive, as oslo does; those of a
		// burst with one basic.ack.
		AckOnReceipt: true,
	}, w.handle)
	return w
}

func (w *replyWaiter) waitReady(ctx context.Context) error {
	select {
	case <-w.consumer.Ready():
		return nil
	case <-w.consumer.Done():
		return errNotReady
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (w *replyWaiter) stop() { _ = w.consumer.Stop(context.Background()) }

// newPending is a pending from the pool; release returns it.
func newPending() *pending { return pendings.Get().(*pending) }

func (p *pending) release() { pendings.Put(p) }

// register starts waiting for replies to msgID in p; unregister stops.
func (w *replyWaiter) register(msgID string, p *pending) {
	w.mu.Lock()
	w.waiting[msgID] = p
	w.mu.Unlock()
}

// unregister stops waiting for replies to msgID. No reply is handed to p
// once it is out of the map (handle sends under mu), so what is left in
// its channel is dropped, and p can be reused.
func (w *replyWaiter) unregister(msgID string, p *pending) {
	w.mu.Lock()
	delete(w.waiting, msgID)
	w.mu.Unlock()
	for len(p.ch) > 0 {
		<-p.ch
	}
}

func (w *replyWaiter) handle(_ context.Context, d amqp.Delivery) {
	body := d.Body // acked on receipt by the consumer (AckOnReceipt)
	if c, ok := d.Headers["compression"].(string); ok && c != "" {
		var err error
		if body, err = oslo.Decompress(c, body, 0); err != nil {
			w.log.Warn("dropping reply", "error", err)
			return
		}
	}
	r, err := oslo.DecodeReply(body)
	if r == nil || r.MsgID == "" {
		w.log.Warn("dropping malformed reply", "error", err, "bytes", len(d.Body))
		return
	}
	if err != nil {
		// The reply is for a known call but unreadable: fail that call.
		r = &oslo.Reply{MsgID: r.MsgID, Ending: true, Failure: oslo.NewFailure("oslohost", "MalformedReply", err.Error())}
	}
	w.mu.Lock()
	p := w.waiting[r.MsgID]
	sent := false
	if p != nil {
		select {
		case p.ch <- r:
			sent = true
		default:
		}
	}
	w.mu.Unlock()
	switch {
	case p == nil:
		w.log.Info("no calling threads waiting for msg_id", "msg_id", r.MsgID)
	case !sent:
		w.log.Warn("dropping reply: its call has too many unread", "msg_id", r.MsgID, "unread", pendingBuffer)
	}
}
