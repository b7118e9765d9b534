// Command protocol1 is a plugin built before protocol version 2, as far as
// the handshake goes: pluginv1's handshake with ProtocolVersion 1. The
// host must refuse it at the handshake (TestStartOldProtocol).
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

func main() {
	hs := pluginv1.Handshake
	hs.ProtocolVersion = 1
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         pluginv1.PluginMap(pluginv1.UnimplementedEndpointServer{}),
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
