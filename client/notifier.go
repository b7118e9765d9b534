package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/pyjson"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/oslo"
)

// Notification drivers (oslo's [oslo_messaging_notifications] driver).
const (
	// DriverMessagingV2 sends the 2.0 envelope (the default).
	DriverMessagingV2 = "messagingv2"
	// DriverMessaging sends the bare inner object (format 1.0), for old
	// consumers that do not understand the envelope.
	DriverMessaging = "messaging"
	// DriverNoop sends nothing.
	DriverNoop = "noop"
)

// DefaultNotificationTopic is oslo's default notification topic.
const DefaultNotificationTopic = "notifications"

// Notifier errors; match them with errors.Is.
var (
	// ErrUnknownDriver: NewNotifier was given a driver it does not know.
	ErrUnknownDriver = errors.New("unknown notification driver")
	// ErrInvalidPriority: a priority that is not one of oslo's seven.
	ErrInvalidPriority = errors.New("invalid notification priority")
)

// Notifier sends notifications the way oslo_messaging.Notifier does with
// the messagingv2 (or messaging) driver: to exchange <control exchange>,
// routing key <topic>.<priority>, one message per topic, after declaring
// the queue named like the routing key so that nothing is lost before a
// listener exists (wire spec 7).
//
// Unlike Python, which logs a notification it cannot send and returns,
// the methods return the error: the caller decides whether to log and
// drop. A Notifier is immutable and safe for concurrent use; Prepare
// returns a modified copy.
type Notifier struct {
	t           *transportx.Shared
	publisherID string
	topics      []string
	retry       int
	driver      string
}

// NotifierOption configures a Notifier (NewNotifier, Prepare).
type NotifierOption func(*Notifier)

// Topics sets the topics every notification is sent to (default
// ["notifications"]); each topic gets its own copy.
func Topics(topics ...string) NotifierOption {
	return func(n *Notifier) { n.topics = append([]string(nil), topics...) }
}

// NotifierRetry is how many times sending is retried after a connection
// failure: -1 (the default, as oslo's [oslo_messaging_notifications]
// retry) forever, 0 never. It has the semantics of Retry for clients.
func NotifierRetry(n int) NotifierOption { return func(nt *Notifier) { nt.retry = n } }

// Driver selects the driver: DriverMessagingV2 (default), DriverMessaging
// or DriverNoop.
func Driver(name string) NotifierOption { return func(n *Notifier) { n.driver = name } }

// NewNotifier returns a Notifier publishing as publisherID (e.g.
// "compute.host1") over t. It fails on an unknown driver, an empty topic
// or no topic at all (Python would silently send nothing).
func NewNotifier(t *Transport, publisherID string, opts ...NotifierOption) (*Notifier, error) {
	n := &Notifier{t: shared(t), publisherID: publisherID, topics: []string{DefaultNotificationTopic}, retry: -1, driver: DriverMessagingV2}
	for _, o := range opts {
		o(n)
	}
	if err := n.check(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Notifier) check() error {
	switch n.driver {
	case DriverMessagingV2, DriverMessaging, DriverNoop:
	default:
		return fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownDriver, n.driver, DriverMessagingV2, DriverMessaging, DriverNoop)
	}
	if len(n.topics) == 0 {
		return errors.New("notifier: no topic")
	}
	for _, t := range n.topics {
		if t == "" {
			return errors.New("notifier: empty topic")
		}
	}
	return nil
}

// Prepare returns a copy of n with another publisher ID ("" keeps n's)
// and opts applied (Notifier.prepare). The copy shares n's transport.
func (n *Notifier) Prepare(publisherID string, opts ...NotifierOption) (*Notifier, error) {
	cp := *n
	if publisherID != "" {
		cp.publisherID = publisherID
	}
	for _, o := range opts {
		o(&cp)
	}
	if err := cp.check(); err != nil {
		return nil, err
	}
	return &cp, nil
}

// PublisherID is the publisher the notifications carry.
func (n *Notifier) PublisherID() string { return n.publisherID }

// Audit sends a notification of priority AUDIT. See Notify.
func (n *Notifier) Audit(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityAudit, eventType, payload)
}

// Debug sends a notification of priority DEBUG. See Notify.
func (n *Notifier) Debug(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityDebug, eventType, payload)
}

// Info sends a notification of priority INFO. See Notify.
func (n *Notifier) Info(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityInfo, eventType, payload)
}

// Warn sends a notification of priority WARN. See Notify.
func (n *Notifier) Warn(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityWarn, eventType, payload)
}

// Error sends a notification of priority ERROR. See Notify.
func (n *Notifier) Error(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityError, eventType, payload)
}

// Critical sends a notification of priority CRITICAL. See Notify.
func (n *Notifier) Critical(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PriorityCritical, eventType, payload)
}

// Sample sends a notification of priority SAMPLE. See Notify.
func (n *Notifier) Sample(ctx context.Context, reqCtx any, eventType string, payload any) error {
	return n.Notify(ctx, reqCtx, oslo.PrioritySample, eventType, payload)
}

// Notify sends one notification to every topic and returns once the
// broker confirmed each copy. priority is one of oslo's seven in any case
// (it travels upper case, and lower case in the routing key). reqCtx is
// the request context (an oslo.Context, a map or any value marshalling to
// a JSON object; nil for none): only the keys oslo 14.0.3 whitelists are
// sent (oslo.FilterNotificationContext; auth_token never is). payload is
// any JSON-marshalable value (a json.RawMessage is sent as is).
//
// Waiting for the broker (connection, confirms) is bounded by ctx; a
// publish broken by a connection failure is retried per NotifierRetry.
// With several topics every topic is tried; the errors are joined.
func (n *Notifier) Notify(ctx context.Context, reqCtx any, priority, eventType string, payload any) (err error) {
	p, ok := oslo.NormalizePriority(priority)
	if !ok {
		return fmt.Errorf("%w %q (want one of %s)", ErrInvalidPriority, priority, strings.Join(oslo.Priorities(), ", "))
	}
	rc, err := toContext(reqCtx)
	if err != nil {
		return fmt.Errorf("request context: %w", err)
	}
	var raw json.RawMessage
	if r, isRaw := payload.(json.RawMessage); isRaw && len(r) > 0 {
		raw = r
	} else if raw, err = pyjson.Marshal(payload); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	if n.driver == DriverNoop {
		return nil
	}
	ctx, span := tracing.StartOutgoing(ctx, "notify", eventType, n.t.Exchange, "", "") // only under a span
	defer func() { span.End(err) }()
	msg := &oslo.Notification{
		MessageID:   oslo.NewUUID(),
		PublisherID: n.publisherID,
		EventType:   eventType,
		Priority:    strings.ToUpper(p),
		Payload:     raw,
		Timestamp:   oslo.Timestamp(time.Now()),
		// trace_info is added after the whitelist: a Python listener
		// with osprofiler's serializer continues the trace from it.
		Context: tracing.Outgoing(ctx, oslo.FilterNotificationContext(rc), tracing.KeyOf(rc)),
	}
	var errs []error
	for _, topic := range n.topics {
		// Each topic is a separate send in Python, with its own _unique_id.
		msg.UniqueID = oslo.NewID()
		var body []byte
		if n.driver == DriverMessaging {
			body = msg.EncodeV1()
		} else {
			body = msg.Encode()
		}
		if err := n.publish(ctx, topic+"."+p, body); err != nil {
			errs = append(errs, fmt.Errorf("notify %s to %s.%s: %w", eventType, topic, p, err))
		}
	}
	return errors.Join(errs...)
}

// publish declares the default queue of key (once per connection) and
// publishes body to the control exchange with key.
func (n *Notifier) publish(ctx context.Context, key string, body []byte) error {
	t := n.t
	declared, err := notifyQueues(t)
	if err != nil {
		return err
	}
	topo := t.Topology()
	exchange := topo.ControlExchange(t.Exchange)
	m := rabbit.Message{
		Exchange: exchange.Name,
		Key:      key,
		Body:     body,
		Declare:  exchange,
		Retries:  n.retry,
		Headers:  tracing.Headers(ctx), // nil unless traced
		// Mandatory (Python sends false; the flag is invisible to
		// consumers) makes a publish that found no queue come back: that
		// happens when the broker restarted between the declaration of the
		// queue and the publish. Then the queue is declared again and the
		// message sent again, so that it is not lost.
		Mandatory: true,
	}
	for attempt := 0; attempt < 2; attempt++ {
		if err = declared.ensure(ctx, t.Conn, topo, exchange, key); err != nil {
			break
		}
		err = t.Conn.Publish(ctx, m)
		var ret *rabbit.ReturnedError
		if !errors.As(err, &ret) {
			break
		}
		declared.forget(exchange.Name, key)
	}
	return publishError(ctx, err)
}

// declaredQueues remembers which notification queues a transport declared,
// per connection generation: like kombu's _declared_queues, which its
// connection clears on every reconnect, so that a restarted broker gets
// them again. The zero value is ready; safe for concurrent use.
type declaredQueues struct {
	mu sync.Mutex
	// gen maps exchange + "\x00" + key to the generation it was declared on.
	gen map[string]uint64
}

func declaredKey(exchange, key string) string { return exchange + "\x00" + key }

func (d *declaredQueues) forget(exchange, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.gen, declaredKey(exchange, key))
}

// ensure declares the exchange, the queue named key with the flags of the
// exchange (wire spec 7.2: durable and auto-delete like the exchange,
// arguments H + Q, no x-expires) and its binding, unless done already on
// the current connection.
func (d *declaredQueues) ensure(ctx context.Context, conn *rabbit.Conn, topo rabbit.Topology, x rabbit.ExchangeDecl, key string) error {
	id := declaredKey(x.Name, key)
	d.mu.Lock()
	g, ok := d.gen[id]
	d.mu.Unlock()
	if ok && g == conn.Generation() {
		return nil
	}
	q := topo.SharedQueue(key)
	ch, gen, err := conn.Channel(ctx)
	if err != nil {
		return fmt.Errorf("declare notification queue %q: %w", key, err)
	}
	defer func() { _ = ch.Close() }()
	err = ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, false, false, nil)
	if isDurableMismatch(err) {
		// The exchange exists with the other flag (a fleet configured
		// differently): use it, as oslo 14.1.0+ and rabbit.Conn do.
		if ch, gen, err = reopen(ctx, conn, ch); err != nil {
			return err
		}
		x.Durable = !x.Durable
		err = ch.ExchangeDeclare(x.Name, x.Kind, x.Durable, x.AutoDelete, false, false, nil)
	}
	if err != nil {
		return fmt.Errorf("declare exchange %q: %w", x.Name, err)
	}
	// Python declares the queue with the exchange's flags.
	q.Durable, q.AutoDelete = x.Durable, x.AutoDelete
	_, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, false, false, q.Args)
	if isDurableMismatch(err) {
		if ch, gen, err = reopen(ctx, conn, ch); err != nil {
			return err
		}
		q.Durable = !q.Durable
		_, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, false, false, q.Args)
	}
	if err != nil {
		return fmt.Errorf("declare queue %q: %w", q.Name, err)
	}
	if err := ch.QueueBind(q.Name, key, x.Name, false, nil); err != nil {
		return fmt.Errorf("bind queue %q to %q: %w", q.Name, x.Name, err)
	}
	d.mu.Lock()
	if d.gen == nil {
		d.gen = map[string]uint64{}
	}
	d.gen[id] = gen
	d.mu.Unlock()
	return nil
}

// reopen replaces ch (closed by the broker after a refused declaration).
func reopen(ctx context.Context, conn *rabbit.Conn, ch *amqp.Channel) (*amqp.Channel, uint64, error) {
	_ = ch.Close()
	return conn.Channel(ctx)
}

func isDurableMismatch(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && ae.Code == amqp.PreconditionFailed && strings.Contains(ae.Reason, "inequivalent arg 'durable'")
}
