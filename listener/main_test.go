package listener

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// over is a transport over conn (a test's own connection).
func over(conn *rabbit.Conn) *transport.Transport {
	return wrap.Conn(conn, rabbit.Options{}, "", nil)
}
