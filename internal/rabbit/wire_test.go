package rabbit

import (
	"errors"
	"net"
	"strings"
	"testing"
)

// recConn records each Write (a system call on a real socket).
type recConn struct {
	net.Conn
	writes []string
	fail   error
	closed bool
}

func (c *recConn) Write(p []byte) (int, error) {
	if c.fail != nil {
		return 0, c.fail
	}
	c.writes = append(c.writes, string(p))
	return len(p), nil
}

func (c *recConn) Close() error { c.closed = true; return nil }

func TestWireBatchesHeldWrites(t *testing.T) {
	big := strings.Repeat("b", wireBatchMax)
	tests := []struct {
		name string
		run  func(w *wire)
		want []string
	}{
		{"unheld writes go out at once", func(w *wire) {
			_, _ = w.Write([]byte("a"))
			_, _ = w.Write([]byte("b"))
		}, []string{"a", "b"}},
		{"held writes go out together on release", func(w *wire) {
			w.hold()
			_, _ = w.Write([]byte("a"))
			_, _ = w.Write([]byte("b"))
			w.release()
		}, []string{"ab"}},
		{"the last of several holders writes", func(w *wire) {
			w.hold()
			w.hold()
			_, _ = w.Write([]byte("a"))
			w.release()
			_, _ = w.Write([]byte("b"))
			w.release()
		}, []string{"ab"}},
		{"a release with nothing held back writes nothing", func(w *wire) {
			w.hold()
			w.release()
		}, nil},
		{"a write too large for the buffer flushes it and goes out alone", func(w *wire) {
			w.hold()
			_, _ = w.Write([]byte("a"))
			_, _ = w.Write([]byte(big))
			_, _ = w.Write([]byte("c"))
			w.release()
		}, []string{"a", big, "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recConn{}
			tt.run(newWire(rc))
			if len(rc.writes) != len(tt.want) {
				t.Fatalf("%d writes, want %d", len(rc.writes), len(tt.want))
			}
			for i := range tt.want {
				if rc.writes[i] != tt.want[i] {
					t.Fatalf("write %d: %.20q, want %.20q", i, rc.writes[i], tt.want[i])
				}
			}
		})
	}
}

// TestWireFailedFlushClosesTheSocket: a held-back write that fails closes
// the socket (the library must see the connection die) and fails later
// writes.
func TestWireFailedFlushClosesTheSocket(t *testing.T) {
	boom := errors.New("boom")
	rc := &recConn{}
	w := newWire(rc)
	w.hold()
	if n, err := w.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("held write: %d, %v", n, err)
	}
	rc.fail = boom
	w.release()
	if !rc.closed {
		t.Fatal("socket not closed after a failed write")
	}
	if _, err := w.Write([]byte("d")); !errors.Is(err, boom) {
		t.Fatalf("write after the failure: %v", err)
	}
}

// TestWireNilSafe: hold and release on no wire (a pipe made before any
// connection) do nothing.
func TestWireNilSafe(t *testing.T) {
	var w *wire
	w.hold()
	w.release()
}
