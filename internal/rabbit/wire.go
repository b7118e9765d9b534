package rabbit

import (
	"net"
	"runtime"
	"sync"
)

// wire is the socket of one broker connection, with writes that can be
// held back and sent together. amqp091-go flushes its buffer (a write
// system call) after every publish and every ack; under load many
// goroutines publish and ack at about the same time, and a write each is
// much of what the host and the client spend per call.
//
// While any goroutine holds the wire (hold, between starting to publish or
// ack and having done so), what the library writes is buffered; the last
// holder to let go (release) writes it all with one system call. So a
// publish or ack made alone is written at once, as before (no added
// latency), and those made together, e.g. by goroutines queued behind one
// another for the publishing channel, go out as one write. Nothing waits
// for a timer: a write is delayed only while another goroutine is between
// hold and release, which is never longer than its own publish, and by one
// yield of the processor.
//
// A write that does not fit in the buffer (wireBatchMax) flushes it and
// goes out at once, so the buffer stays small and large bodies are not
// copied. A failed write closes the socket, so the library's reader sees
// the connection die, as it would have seen the write fail.
type wire struct {
	net.Conn

	mu      sync.Mutex
	holders int
	buf     []byte
	err     error
}

// wireBatchMax bounds what is held back: about a hundred small messages.
const wireBatchMax = 64 << 10

func newWire(c net.Conn) *wire { return &wire{Conn: c} }

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.holders > 0 && len(w.buf)+len(p) <= wireBatchMax {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	n, err := w.Conn.Write(p)
	if err != nil {
		w.failLocked(err)
	}
	return n, err
}

// hold holds back writes until the matching release. Safe on a nil wire.
func (w *wire) hold() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.holders++
	w.mu.Unlock()
}

// release ends a hold; the last one writes what was held back, after
// yielding the processor once: goroutines made runnable together (the
// workers woken by one burst of plugin replies, the callers woken by one
// burst of replies) then add their publishes and acks to the same write,
// as batchAcker does for acks. With nobody else runnable the yield returns
// at once.
func (w *wire) release() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.holders--
	if w.holders > 0 || len(w.buf) == 0 {
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	runtime.Gosched()
	w.mu.Lock()
	if w.holders == 0 {
		_ = w.flushLocked()
	}
	w.mu.Unlock()
}

func (w *wire) flushLocked() error {
	if len(w.buf) == 0 || w.err != nil {
		return w.err
	}
	_, err := w.Conn.Write(w.buf)
	if err != nil {
		w.failLocked(err)
		return err
	}
	w.buf = w.buf[:0]
	return nil
}

// failLocked remembers the first write error and closes the socket: the
// library wrote what is lost and must learn that the connection is gone.
func (w *wire) failLocked(err error) {
	if w.err == nil {
		w.err = err
		w.buf = nil
		_ = w.Conn.Close()
	}
}
