package oslo

// Target says where a message goes or what a server listens on, as
// oslo_messaging.Target does. The zero value of a string field means
// "not set" (Python's None).
type Target struct {
	// Exchange overrides the transport's control exchange.
	Exchange string `json:"exchange,omitempty"`
	// Topic is the queue name that servers of a service share; required.
	Topic string `json:"topic,omitempty"`
	// Namespace selects the endpoint namespace on the server.
	Namespace string `json:"namespace,omitempty"`
	// Version is the API version requested ("X.Y" or "X.Y.Z").
	Version string `json:"version,omitempty"`
	// Server targets one server of the topic (queue "topic.server").
	Server string `json:"server,omitempty"`
	// Fanout sends a cast to every server of the topic.
	Fanout bool `json:"fanout,omitempty"`
}

// ExchangeOr returns the target's exchange, or def when it has none.
func (t Target) ExchangeOr(def string) string {
	if t.Exchange != "" {
		return t.Exchange
	}
	return def
}

// RoutingKey is the key a call or cast to t is published with on the
// control exchange: "topic", or "topic.server" when a server is set.
func (t Target) RoutingKey() string {
	if t.Server != "" {
		return t.Topic + "." + t.Server
	}
	return t.Topic
}

// FanoutExchange is the name of the topic's fanout exchange, "topic_fanout".
func (t Target) FanoutExchange() string { return t.Topic + "_fanout" }

// DefaultControlExchange is oslo's control_exchange default: the exchange
// of targets that name none.
const DefaultControlExchange = "openstack"

// DefaultMaxMessageSize bounds one message body (after decompression) that
// the server, the listener and the plugin channel accept by default
// (64 MiB).
const DefaultMaxMessageSize = 64 << 20
