// Package wrap makes a transport.Transport over a connection dialled
// elsewhere: the host's own (dialled with its reconnect hooks), or a
// test's (through a fault proxy).
package wrap

import (
	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
	"github.com/oslohost/oslohost/transport"
)

// Conn returns a transport over conn with the rabbit options o and the
// control exchange ("openstack" when empty). Closing it stops what was
// started on it but leaves conn open: its owner closes that.
func Conn(conn *rabbit.Conn, o rabbit.Options, controlExchange string, log hclog.Logger) *transport.Transport {
	return transportx.Wrap(transportx.NewShared(conn, o, controlExchange, log, false)).(*transport.Transport)
}
