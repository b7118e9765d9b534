package client

import (
	"time"
)

// DefaultTimeout is oslo's rpc_response_timeout default.
const DefaultTimeout = 60 * time.Second

// callOptions are what RPCClient(...) and prepare(...) set.
type callOptions struct {
	timeout            time.Duration
	callMonitorTimeout time.Duration
	retry              int // <0 forever
	versionCap         string
	atLeastOnce        bool
	profilerKey        string
}

// Option changes a Client's target or call options (New, Prepare).
type Option func(*Client)

// Exchange overrides the control exchange for this target.
func Exchange(x string) Option { return func(c *Client) { c.target.Exchange = x } }

// Topic changes the target's topic.
func Topic(t string) Option { return func(c *Client) { c.target.Topic = t } }

// Namespace sets the endpoint namespace.
func Namespace(ns string) Option { return func(c *Client) { c.target.Namespace = ns } }

// Version sets the requested API version.
func Version(v string) Option { return func(c *Client) { c.target.Version = v } }

// Server targets one server of the topic.
func Server(s string) Option { return func(c *Client) { c.target.Server = s } }

// Fanout makes casts go to every server of the topic.
func Fanout(f bool) Option { return func(c *Client) { c.target.Fanout = f } }

// Timeout is how long a call waits for its reply in all (default 60 s);
// it also becomes the request's expiration. Heartbeats do not extend it.
func Timeout(d time.Duration) Option { return func(c *Client) { c.opts.timeout = d } }

// CallMonitorTimeout asks the server for call-monitor heartbeats every d/2
// and fails the call when d passes without any message for it. Python
// servers send heartbeats only for d >= 2 s (whole seconds).
func CallMonitorTimeout(d time.Duration) Option {
	return func(c *Client) { c.opts.callMonitorTimeout = d }
}

// Retry is how many times sending is retried after a connection failure:
// -1 (the default) forever, 0 never.
func Retry(n int) Option { return func(c *Client) { c.opts.retry = n } }

// VersionCap refuses to send messages whose version exceeds cap.
func VersionCap(cap string) Option { return func(c *Client) { c.opts.versionCap = cap } }

// AtLeastOnce publishes calls and non-fanout casts as mandatory, so an
// unroutable message fails at once with ErrUndeliverable
// (TransportOptions(at_least_once=True)).
func AtLeastOnce(b bool) Option { return func(c *Client) { c.opts.atLeastOnce = b } }

// ProfilerHMACKey is the osprofiler hmac_key written into the trace_info of
// calls and casts made under an OpenTelemetry span whose request context
// carries no trace_info of its own (and the host configures no
// osprofiler_hmac_keys): a Python server with osprofiler then continues the
// caller's trace. Without it such calls carry only the traceparent header.
func ProfilerHMACKey(key string) Option { return func(c *Client) { c.opts.profilerKey = key } }
