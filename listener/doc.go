// Package listener consumes oslo.messaging notifications over RabbitMQ the
// way a Python NotificationListener (get_notification_listener) does, and
// hands them to a Handler: the notification-side twin of package server.
// A Go program listens in-process, without the host, on a shared
// transport.Transport (see the Example):
//
//	t, err := transport.Dial(ctx, transport.Config{URL: "rabbit://guest:guest@127.0.0.1:5672/"})
//	l, err := listener.New(t, listener.Config{Targets: []listener.Target{{Topic: "notifications"}}, Handler: h})
//	err = l.Start(ctx)
//	defer l.Shutdown(ctx)
//
// Topology (wire spec 7.5): for every target and priority, queue
// "<topic>.<priority>" bound to the target's exchange with that key; with a
// Pool, one queue named after the pool, bound with every such key, so that
// each pool (and the pool-less queue) gets its own copy of every
// notification and the listeners of one pool share the work.
//
// Consuming is internal/intake's, with its AckAfterHandling policy (the
// same checks, decoder and duplicate window as package server's). Delivery
// is at least once: a notification is acked after its handler returned. A handler returns Handled or Requeue (an error or a panic
// counts as Requeue). Requeue puts the message back on its queue
// (basic.reject requeue=true) when AllowRequeue is set, else the message
// is acked and dropped, as oslo does. Requeues are bounded: after
// MaxRequeues requeues of one message it is logged at ERROR, with its
// event_type and message_id, and dropped, so a poison message cannot spin.
//
// What a handler may see twice: a message it asked to requeue (by design),
// and a message whose handling was under way when the connection, the
// process or the handler's host crashed (it was never acked, so the broker
// delivers it again). A message redelivered after it was handled but
// before the ack reached the broker is caught by the duplicate window (the
// _unique_id values handled in the last minute or more, where oslo keeps
// the last 16; see Config.Duplicates) when it comes back to the same
// Listener, or to one sharing its window.
//
// Shutdown lets the running handlers finish while the channel is still
// open, so that their acks reach the broker, and holds what arrives
// meanwhile until the consumer stops, then gives it back.
package listener
