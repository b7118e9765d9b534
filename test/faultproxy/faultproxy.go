// Package faultproxy is a TCP proxy for tests that puts faults in the path
// between a client and a server: it can cut every connection, or stall the
// path (bytes stop flowing both ways while the sockets stay open, as when a
// network link silently drops), and restore it.
package faultproxy

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from its own loopback address to an upstream
// address. Safe for concurrent use.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stalled bool
	gate    chan struct{} // closed while the path is open
	wg      sync.WaitGroup
}

// Start starts a proxy to upstream; it stops at test cleanup.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}, gate: make(chan struct{})}
	close(p.gate)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.Cut()
	p.Restore()
	p.wg.Wait()
}

// Cut closes every open connection (both sides see a reset/EOF).
func (p *Proxy) Cut() {
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// Stall stops forwarding in both directions; sockets stay open and new
// connections are accepted but not forwarded.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.gate = make(chan struct{})
	}
}

// Restore ends a stall; connections stalled meanwhile are cut (their peers
// have given up on them), new ones flow again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	if p.stalled {
		p.stalled = false
		close(p.gate)
	}
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *Proxy) serve(down net.Conn) {
	defer p.wg.Done()
	p.track(down, true)
	defer p.track(down, false)
	defer down.Close()
	up, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	p.track(up, true)
	defer p.track(up, false)
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, down); done <- struct{}{} }()
	go func() { p.pipe(down, up); done <- struct{}{} }()
	<-done
	_ = up.Close()
	_ = down.Close()
	<-done
}

// pipe copies src to dst, holding every chunk while the path is stalled.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate, stalled := p.gate, p.stalled
			p.mu.Unlock()
			if stalled {
				<-gate
				return // the peers gave up during the stall: drop this connection
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF or a closed socket
			return
		}
	}
}
