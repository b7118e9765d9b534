package reliability

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/faultproxy"
	"github.com/oslohost/oslohost/test/pypeer"
)

const (
	stallFor         = 6 * time.Second
	faultCallTimeout = 2 * time.Second
	// faultSlack is how much longer than its timeout a call may take to
	// return (scheduling, the reply in flight at the deadline).
	faultSlack = time.Second
)

// checkBounded fails t if a call took longer than its timeout plus slack
// and logs the load's figures.
func checkBounded(t *testing.T, what string, calls []callRecord, fault time.Time) {
	t.Helper()
	s := summarize(calls)
	inflight := summarize(overlapping(calls, fault))
	t.Logf("result: %s: load %v; in flight at the fault: %v", what, s, inflight)
	if s.slowest > faultCallTimeout+faultSlack {
		t.Errorf("%s: a call took %v, more than its timeout %v + %v", what, s.slowest, faultCallTimeout, faultSlack)
	}
	for k := range s.byOutcome {
		if k != "ok" && k != "timeout" && !strings.HasPrefix(k, "delivery-failure") {
			t.Errorf("%s: unexpected outcome %q (%d calls)", what, k, s.byOutcome[k])
		}
	}
	if s.byOutcome["ok"] == 0 {
		t.Errorf("%s: no call succeeded", what)
	}
}

// TestBrokerClosesConnections: the broker closes the server's and the
// client's connections (by connection name, so other tests are left
// alone) three times under load; both come back, every call in flight
// returns within its timeout, and serving resumes.
func TestBrokerClosesConnections(t *testing.T) {
	t.Parallel()
	topic := pypeer.UniqueName(t, "rel-close")
	ts := startServer(t, brokerURL(), topic, nil)
	tr := dialClient(t, brokerURL(), "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	l := startLoad(c, 4, "slow", func(int, int) any { return map[string]int{"ms": 50} }, faultCallTimeout, 0)
	var faults []time.Time
	var took []time.Duration
	for i := 0; i < 3; i++ {
		base := l.count()
		waitFor(t, 20*time.Second, "load running", func() bool { return l.count() > base+20 })
		if n := pypeer.CloseConnections(t, topic); n < 2 {
			t.Fatalf("closed %d connections, want the server's and the client's", n)
		}
		at := time.Now() // rabbitmqctl takes about a second per connection
		faults = append(faults, at)
		took = append(took, serveAgain(t, c, "echo", at, 20*time.Second))
	}
	calls := l.finish(t)
	for i, at := range faults {
		checkBounded(t, "broker closed connections #"+itoa(i+1), callsAround(calls, at), at)
	}
	t.Logf("result: broker closed connections: served again after %v (3 times)", took)
	checkServeAgain(t, took)
	if !ts.conn.Connected() {
		t.Error("server connection not up at the end")
	}
}

// checkServeAgain fails t unless serving resumed within 5 s each time
// (issue 7), however many reconnects came before.
func checkServeAgain(t *testing.T, took []time.Duration) {
	t.Helper()
	for i, d := range took {
		if d > 5*time.Second {
			t.Errorf("reconnect #%d: served again only after %v, want within 5s", i+1, d)
		}
	}
}

// callsAround are the calls from 3 s before to 10 s after at.
func callsAround(calls []callRecord, at time.Time) []callRecord {
	var out []callRecord
	for _, c := range calls {
		if c.end.After(at.Add(-3*time.Second)) && c.start.Before(at.Add(10*time.Second)) {
			out = append(out, c)
		}
	}
	return out
}

// TestStalledPath: the TCP path between server/client and broker stalls
// silently (bytes stop, sockets stay open) for 6 s. The server's
// heartbeats (1 s) detect it; the client keeps the default 60 s
// heartbeat, so its calls made during the stall publish into a dead
// socket: every call still returns within its timeout, and once the path
// is back both reconnect and serve.
func TestStalledPath(t *testing.T) {
	t.Parallel()
	proxy := faultproxy.Start(t, "127.0.0.1:5672")
	url := "rabbit://guest:guest@" + proxy.Addr() + "/"
	topic := pypeer.UniqueName(t, "rel-stall")
	ts := startServer(t, url+"?heartbeat_timeout_threshold=1", topic, nil)
	tr := dialClient(t, url, "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	l := startLoad(c, 4, "slow", func(int, int) any { return map[string]int{"ms": 50} }, faultCallTimeout, 0)
	waitFor(t, 20*time.Second, "load running", func() bool { return l.count() > 20 })

	at := time.Now()
	proxy.Stall()
	detected := waitFor(t, 15*time.Second, "heartbeat detects the stall", func() bool { return !ts.conn.Connected() })
	// Hold the stall for several call timeouts: calls made meanwhile
	// must time out, not wait for the path.
	time.Sleep(stallFor - detected)
	restored := time.Now()
	proxy.Restore()
	took := serveAgain(t, c, "echo", restored, 30*time.Second)
	calls := l.finish(t)
	checkBounded(t, "stalled path", calls, at)
	t.Logf("result: stalled path: stall detected after %v, served again %v after the path came back", detected.Round(time.Millisecond), took.Round(time.Millisecond))
}

// TestCutPath: every TCP connection through the proxy is reset, three
// times under load; both sides reconnect at once and serve again.
func TestCutPath(t *testing.T) {
	t.Parallel()
	proxy := faultproxy.Start(t, "127.0.0.1:5672")
	url := "rabbit://guest:guest@" + proxy.Addr() + "/"
	topic := pypeer.UniqueName(t, "rel-cut")
	startServer(t, url, topic, nil)
	tr := dialClient(t, url, "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	l := startLoad(c, 4, "slow", func(int, int) any { return map[string]int{"ms": 50} }, faultCallTimeout, 0)
	var faults []time.Time
	var took []time.Duration
	for i := 0; i < 3; i++ {
		base := l.count()
		waitFor(t, 20*time.Second, "load running", func() bool { return l.count() > base+20 })
		at := time.Now()
		proxy.Cut()
		faults = append(faults, at)
		took = append(took, serveAgain(t, c, "echo", at, 20*time.Second))
	}
	calls := l.finish(t)
	for i, at := range faults {
		checkBounded(t, "cut path #"+itoa(i+1), callsAround(calls, at), at)
	}
	t.Logf("result: cut path: served again after %v (3 times)", took)
	checkServeAgain(t, took)
}

// TestFailoverToNextHost: a transport URL lists two broker addresses
// (two fault proxies to the same broker). Whichever the connection uses
// is shut down for good (listener closed, connections cut); the
// connection moves to the other host and serves again. A dead first
// host (nothing listening) is skipped at start.
func TestFailoverToNextHost(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	pa := faultproxy.Start(t, "127.0.0.1:5672")
	pb := faultproxy.Start(t, "127.0.0.1:5672")
	proxies := map[string]*faultproxy.Proxy{pa.Addr(): pa, pb.Addr(): pb}
	var mu sync.Mutex
	var dialed []string
	record := func(network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return net.DialTimeout(network, addr, 5*time.Second)
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return dialed[len(dialed)-1]
	}
	url := "rabbit://guest:guest@" + dead + ",guest:guest@" + pa.Addr() + ",guest:guest@" + pb.Addr() + "/?rabbit_retry_interval=1"
	topic := pypeer.UniqueName(t, "rel-failover")
	ts := startServer(t, url, topic, record)
	tr := dialClient(t, brokerURL(), "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	if err := c.Prepare(client.Timeout(10*time.Second)).Call(bg(t, 20*time.Second), nil, "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	first := last()
	p, ok := proxies[first]
	if !ok {
		t.Fatalf("connected through %s, not one of the proxies", first)
	}
	at := time.Now()
	p.Close() // this host is gone for good
	took := serveAgain(t, c, "echo", at, 30*time.Second)
	second := last()
	if second == first || proxies[second] == nil {
		t.Fatalf("after losing %s the server connected to %s (dialed %v)", first, second, dialed)
	}
	if !ts.conn.Connected() {
		t.Fatal("server not connected")
	}
	mu.Lock()
	t.Logf("result: failover: lost %s, moved to %s, served again after %v (dial attempts %d: %v)", first, second, took.Round(time.Millisecond), len(dialed), dialed)
	mu.Unlock()
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func itoa(i int) string { return string(rune('0' + i)) }
