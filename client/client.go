package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/oslohost/oslohost/internal/pyjson"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/oslo"
)

// Client sends calls and casts to one Target with one set of options, like
// oslo_messaging.RPCClient. It is immutable, safe for concurrent use, and
// cheap: Prepare returns a modified copy.
type Client struct {
	t      *transportx.Shared
	target oslo.Target
	opts   callOptions
}

// New returns a Client for target over t.
func New(t *Transport, target oslo.Target, opts ...Option) *Client {
	c := &Client{t: shared(t), target: target, opts: callOptions{timeout: DefaultTimeout, retry: -1}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Prepare returns a copy of c with opts applied (RPCClient.prepare).
func (c *Client) Prepare(opts ...Option) *Client {
	cp := *c
	for _, o := range opts {
		o(&cp)
	}
	return &cp
}

// Target is the client's target.
func (c *Client) Target() oslo.Target { return c.target }

// CanSendVersion reports whether version v is within the version cap
// (always true without a cap), as RPCClient.can_send_version does.
func (c *Client) CanSendVersion(v string) bool {
	if c.opts.versionCap == "" {
		return true
	}
	ok, err := oslo.Compatible(c.opts.versionCap, v)
	return err == nil && ok
}

// Call invokes method with args (a JSON-marshalable value whose JSON is an
// object; nil sends {}) and the request context reqCtx (an oslo.Context,
// a map, or any value marshalling to a JSON object; nil for none), waits for
// the reply and unmarshals the result into result (nil to discard; a
// *json.RawMessage receives it raw).
func (c *Client) Call(ctx context.Context, reqCtx any, method string, args any, result any) (err error) {
	if c.target.Fanout {
		return fmt.Errorf("%w: a call cannot be fanout", ErrInvalidTarget)
	}
	ctx, span := tracing.StartOutgoing(ctx, "call", method, c.target.Exchange, c.target.Topic, c.target.Server) // only under a span
	defer func() { span.End(err) }()
	req, err := c.request(ctx, reqCtx, method, args)
	if err != nil {
		return err
	}
	timeout := c.opts.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// The timeout bounds the whole call: waiting for the reply queue and
	// publishing too (a stalled broker path must not hold a call longer).
	// The call's context (pooled, with its timer) ends at the timeout
	// with a *TimeoutError as its cause.
	msgID := oslo.NewID()
	p := newPending()
	p.ctx.start(ctx, timeout, msgID)
	defer func() { p.ctx.finish(); p.release() }()
	w, err := replies(&p.ctx, c.t)
	if err != nil {
		return p.ctx.orCause(err)
	}
	req.MsgID, req.ReplyQ = msgID, w.queue
	req.Timeout = json.RawMessage("null")
	if cm := c.opts.callMonitorTimeout; cm > 0 {
		req.Timeout = json.RawMessage(strconv.FormatFloat(cm.Seconds(), 'f', -1, 64))
	}
	w.register(msgID, p)
	defer w.unregister(msgID, p)
	err = c.publish(&p.ctx, req, expiration(timeout), c.opts.atLeastOnce)
	if err != nil {
		return p.ctx.orCause(err)
	}
	return c.wait(p, msgID, result)
}

// wait waits for the final reply: the overall timeout (the end of p.ctx,
// whose cause is a *TimeoutError) is not extended by heartbeats, each of
// which restarts only the call-monitor timer.
func (c *Client) wait(p *pending, msgID string, result any) error {
	var monitor <-chan time.Time
	var cmTimer *time.Timer
	if cm := c.opts.callMonitorTimeout; cm > 0 {
		cmTimer = time.NewTimer(cm)
		defer cmTimer.Stop()
		monitor = cmTimer.C
	}
	var final *oslo.Reply
	for {
		select {
		case r := <-p.ch:
			if r.IsHeartbeat() {
				if cmTimer != nil {
					cmTimer.Reset(c.opts.callMonitorTimeout)
				}
				continue
			}
			if !r.Ending { // legacy two-message reply: keep the answer
				final = r
				continue
			}
			if final != nil && r.Failure == nil && len(r.Result) == 0 {
				r = final
			}
			return decodeResult(r, result)
		case <-monitor:
			return &TimeoutError{MsgID: msgID, CallMonitor: true}
		case <-p.ctx.Done():
			return p.ctx.cause()
		}
	}
}

// defaultExpiration is the expiration of calls with DefaultTimeout.
var defaultExpiration = strconv.FormatInt(DefaultTimeout.Milliseconds(), 10)

// expiration is the expiration property (ms) of a call with timeout d.
func expiration(d time.Duration) string {
	if d == DefaultTimeout {
		return defaultExpiration
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

func decodeResult(r *oslo.Reply, result any) error {
	if r.Failure != nil {
		return remoteError(r.Failure)
	}
	if result == nil {
		return nil
	}
	raw := r.Result
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	if rm, ok := result.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return nil
	}
	if err := json.Unmarshal(raw, result); err != nil {
		return fmt.Errorf("decode result: %w", err)
	}
	return nil
}

// Cast sends method with args and returns once the broker confirmed it;
// no reply comes back. With Fanout it reaches every server of the topic.
func (c *Client) Cast(ctx context.Context, reqCtx any, method string, args any) (err error) {
	ctx, span := tracing.StartOutgoing(ctx, "cast", method, c.target.Exchange, c.target.Topic, c.target.Server) // only under a span
	defer func() { span.End(err) }()
	req, err := c.request(ctx, reqCtx, method, args)
	if err != nil {
		return err
	}
	return c.publish(ctx, req, "", c.opts.atLeastOnce && !c.target.Fanout)
}

// request builds the request common to calls and casts. When ctx carries
// a span, the request context gets the trace_info that makes a Python
// server continue it.
func (c *Client) request(ctx context.Context, reqCtx any, method string, args any) (*oslo.Request, error) {
	if c.target.Topic == "" {
		return nil, fmt.Errorf("%w: a topic is required", ErrInvalidTarget)
	}
	if c.opts.versionCap != "" && !c.CanSendVersion(c.target.Version) {
		return nil, &VersionCapError{Version: c.target.Version, Cap: c.opts.versionCap}
	}
	a, err := marshalObject(args)
	if err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	rc, err := toContext(reqCtx)
	if err != nil {
		return nil, fmt.Errorf("request context: %w", err)
	}
	rc = tracing.Outgoing(ctx, rc, c.opts.profilerKey)
	return &oslo.Request{
		Method: method, Args: a, Namespace: c.target.Namespace, Version: c.target.Version,
		UniqueID: oslo.NewID(), Context: rc,
	}, nil
}

func (c *Client) publish(ctx context.Context, req *oslo.Request, expiration string, mandatory bool) error {
	topo := c.t.Topology()
	m := rabbit.Message{
		Body:       req.Encode(),
		Expiration: expiration,
		Mandatory:  mandatory,
		Retries:    c.opts.retry,
		Headers:    tracing.Headers(ctx), // nil unless traced
	}
	if c.target.Fanout {
		m.Declare = topo.FanoutExchange(c.target.Topic)
		m.Exchange = m.Declare.Name
	} else {
		m.Declare = topo.ControlExchange(c.target.ExchangeOr(c.t.Exchange))
		m.Exchange, m.Key = m.Declare.Name, c.target.RoutingKey()
	}
	return publishError(ctx, c.t.Conn.Publish(ctx, m))
}

func marshalObject(v any) (json.RawMessage, error) {
	switch a := v.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		return a, nil
	}
	b, err := pyjson.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return json.RawMessage("{}"), nil
	}
	if b[0] != '{' {
		return nil, fmt.Errorf("must marshal to a JSON object, got %.20s", b)
	}
	return b, nil
}

func toContext(v any) (oslo.Context, error) {
	switch c := v.(type) {
	case nil:
		return nil, nil
	case oslo.Context:
		return c, nil
	case map[string]any:
		return oslo.ContextFrom(c)
	}
	b, err := pyjson.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out oslo.Context
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("must marshal to a JSON object: %w", err)
	}
	return out, nil
}
