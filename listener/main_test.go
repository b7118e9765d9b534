package listener

import (
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/transport"
)

// TestMain (with goleak) is in example_test.go.

// over is a transport over conn (a test's own connection).
func over(conn *rabbit.Conn) *transport.Transport {
	return wrap.Conn(conn, rabbit.Options{}, "", nil)
}
