package pluginv1

import (
	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the go-plugin protocol version of this package. A host and
// a plugin built against different versions refuse each other at the handshake.
//
// Version 2 carries every invocation and notification on the one Calls
// stream; version 1 had unary Invoke and Notify RPCs beside an optional
// InvokeStream. The magic cookie is unchanged across versions, so that a
// plugin of another version gets as far as the version check and the host
// can say what to do (rebuild it with the current SDK).
const ProtocolVersion = 2

// PluginName is the name under which the endpoint plugin is registered in the
// go-plugin plugin set and dispensed by the host.
const PluginName = "endpoint"

// Handshake is the go-plugin handshake shared by host and plugins. The magic
// cookie is not a security measure: it only makes a plugin binary started by
// hand say that it must be started by oslohost. Treat it as read-only.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "OSLOHOST_PLUGIN",
	MagicCookieValue: "d8c3a1f0-oslohost-endpoint-plugin-v1",
}

// Environment variables the host sets for a plugin process (see [ClientConfig]).
const (
	// EnvMaxMessageSize carries the gRPC message size cap in bytes.
	EnvMaxMessageSize = "OSLOHOST_PLUGIN_MAX_MESSAGE_SIZE"
	// EnvLogLevel carries the host's log level (an hclog level name), so the
	// plugin does not emit lines the host would drop.
	EnvLogLevel = "OSLOHOST_PLUGIN_LOG_LEVEL"
)

// PluginMap returns the go-plugin plugin set of the endpoint plugin. The host
// passes a nil impl; a plugin passes its server implementation. Each call
// returns a new map.
func PluginMap(impl EndpointServer) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{Impl: impl}}
}
