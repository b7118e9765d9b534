package interop

import (
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/faultproxy"
	"github.com/oslohost/oslohost/test/pypeer"
)

// eventually retries f every 100 ms until it succeeds or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < d {
		if err = f(); err == nil {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %v: %v", what, d, err)
	return 0
}

// TestReconnectAfterBrokerClosesConnections: the broker closes the Go
// server's and the Go client's connections; both come back by themselves.
func TestReconnectAfterBrokerClosesConnections(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "reconn")
	gs := startGoServer(t, serverOpts{topic: topic, server: topic + "-srv"})
	ctx := bg(t, 2*time.Minute)
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL(), Name: topic + "-cli", Logger: logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	c := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(5*time.Second))
	call := func() error {
		var got string
		return c.Call(ctx, nil, "whoami", nil, &got)
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if n := pypeer.CloseConnections(t, topic); n < 2 {
		t.Fatalf("closed %d connections, want the server's and the client's", n)
	}
	took := eventually(t, 20*time.Second, "call after the broker closed the connections", call)
	t.Logf("serving again %v after the connections were closed", took)
	if !gs.conn.Connected() {
		t.Fatal("server connection not up")
	}
	// A Python client is served too (the server redeclared and resumed).
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "whoami", Timeout: 10})
	if err != nil || !r.OK {
		t.Fatalf("python call after reconnect: %v %+v", err, r.Msg)
	}
}

// TestReconnectAfterStalledPath: the TCP path between the Go server and
// the broker stalls silently; AMQP heartbeats detect it, the server
// reconnects once the path is back, and serves the Python client again.
func TestReconnectAfterStalledPath(t *testing.T) {
	pypeer.Python(t)
	proxy := faultproxy.Start(t, "127.0.0.1:5672")
	topic := pypeer.UniqueName(t, "stall")
	url := "rabbit://guest:guest@" + proxy.Addr() + "/?heartbeat_timeout_threshold=1"
	gs := startGoServer(t, serverOpts{url: url, topic: topic, server: "s1"})
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 2*time.Minute)
	pyCall := func() error {
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "whoami", Timeout: 3})
		if err == nil && !r.OK {
			err = &client.RemoteError{Class: r.ExcClass, Message: r.Msg}
		}
		return err
	}
	if err := pyCall(); err != nil {
		t.Fatal(err)
	}

	proxy.Stall()
	eventually(t, 15*time.Second, "heartbeat detects the stalled path", func() error {
		if gs.conn.Connected() {
			return rabbit.ErrClosed // still believes it is connected
		}
		return nil
	})
	proxy.Restore()
	took := eventually(t, 30*time.Second, "python call after the path came back", pyCall)
	t.Logf("serving again %v after the path came back", took)

	// A cut (reset) path is noticed at once.
	proxy.Cut()
	eventually(t, 30*time.Second, "python call after a cut", pyCall)
}
