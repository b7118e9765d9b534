package reliability

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// caster sends casts with increasing ids (mandatory, confirmed) until
// stopped and remembers which the broker confirmed and which failed.
type caster struct {
	c    *client.Client
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	ok     []string
	failed map[string]string // id -> outcome
}

func startCaster(c *client.Client, pace time.Duration) *caster {
	cs := &caster{c: c.Prepare(client.AtLeastOnce(true)), stop: make(chan struct{}), done: make(chan struct{}), failed: map[string]string{}}
	go func() {
		defer close(cs.done)
		for i := 0; ; i++ {
			select {
			case <-cs.stop:
				return
			case <-time.After(pace):
			}
			id := fmt.Sprintf("cast-%d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			err := cs.c.Cast(ctx, nil, "record", map[string]string{"id": id})
			cancel()
			cs.mu.Lock()
			if err == nil {
				cs.ok = append(cs.ok, id)
			} else {
				cs.failed[id] = outcome(err)
			}
			cs.mu.Unlock()
		}
	}()
	return cs
}

func (cs *caster) finish() ([]string, map[string]string) {
	close(cs.stop)
	<-cs.done
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.ok, cs.failed
}

// TestBrokerRestart: a private RabbitMQ node is stopped and started again
// under load. An in-process server, the oslohost binary (with a plugin)
// and a client reconnect, redeclare and serve again; casts sent with
// confirms (mandatory) meanwhile are either delivered or reported to the
// sender as failed: none vanish.
func TestBrokerRestart(t *testing.T) {
	t.Parallel()
	node := startPrivateNode(t)
	// Durable queues: a confirmed message must survive the restart.
	// rabbit_interval_max=3 bounds the reconnect backoff: with oslo's
	// default (30 s) the next attempt after a long outage can come up to
	// 36 s after the broker is back (see RELIABILITY.md).
	url := node.URL("?amqp_durable_queues=true&rabbit_interval_max=3")
	topic := pypeer.UniqueName(t, "rel-restart")
	ts := startServer(t, url, topic, nil)
	hostTopic := pypeer.UniqueName(t, "rel-restart-host")
	h := runHost(t, writeConfig(t, transportBlock(url)+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, hostTopic)))
	tr := dialClient(t, url, "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	hc := client.New(tr, oslo.Target{Topic: hostTopic})
	if err := hc.Prepare(client.Timeout(20*time.Second)).Call(bg(t, 30*time.Second), nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}

	cs := startCaster(c, 5*time.Millisecond)
	l := startLoad(c, 2, "echo", nil, faultCallTimeout, 10*time.Millisecond)
	waitFor(t, 20*time.Second, "load running", func() bool { return l.count() > 20 })

	stopAt := time.Now()
	node.stop(t)
	stopped := time.Since(stopAt)
	waitFor(t, 20*time.Second, "server notices the broker is gone", func() bool { return !ts.conn.Connected() })
	time.Sleep(2 * time.Second) // an outage of a few seconds, with calls and casts failing into it
	startTook := node.start(t)
	up := node.listening // the broker is back when its AMQP port accepts
	var srvTook, hostTook time.Duration
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srvTook = serveAgainNoFatal(c, "echo", up, 60*time.Second) }()
	go func() { defer wg.Done(); hostTook = serveAgainNoFatal(hc, "ok", up, 60*time.Second) }()
	wg.Wait()
	// Keep casting a moment after the broker is back, then stop.
	base := l.count()
	waitFor(t, 20*time.Second, "load after the restart", func() bool { return l.count() > base+20 })
	ok, failed := cs.finish()
	calls := l.finish(t)

	// Every confirmed cast arrives (bounded wait for the consumer).
	missing := func() []string {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		var out []string
		for _, id := range ok {
			if ts.casts[id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	distinct, dup := ts.recorded()
	failedClasses := map[string]int{}
	deliveredAnyway := 0
	for id, o := range failed {
		failedClasses[o]++
		ts.mu.Lock()
		if ts.casts[id] > 0 {
			deliveredAnyway++
		}
		ts.mu.Unlock()
	}
	t.Logf("result: broker restart: node stop took %v, start took %v; served again %v (in-process server) and %v (oslohost binary) after the node accepted connections again",
		stopped.Round(time.Millisecond), startTook.Round(time.Millisecond), srvTook.Round(time.Millisecond), hostTook.Round(time.Millisecond))
	t.Logf("result: broker restart: casts confirmed %d, received %d distinct (%d twice), failed at the sender %d %v (of which delivered anyway %d), missing %d",
		len(ok), distinct, dup, len(failed), failedClasses, deliveredAnyway, len(missing()))
	t.Logf("result: broker restart: calls %v", summarize(calls))
	if m := missing(); len(m) > 0 {
		t.Errorf("%d confirmed casts vanished: %v", len(m), m[:min(len(m), 10)])
	}
	if srvTook <= 0 || srvTook > 5*time.Second {
		t.Errorf("in-process server served again after %v, want within 5s of the broker coming back", srvTook)
	}
	if hostTook <= 0 || hostTook > 5*time.Second {
		t.Errorf("oslohost served again after %v, want within 5s of the broker coming back", hostTook)
	}
	if s := summarize(calls); s.slowest > faultCallTimeout+faultSlack {
		t.Errorf("a call took %v, more than its timeout %v + %v", s.slowest, faultCallTimeout, faultSlack)
	}
	if st := h.Status(t); !st.Broker.Connected {
		t.Errorf("host status says the broker is not connected")
	}
}

// serveAgainNoFatal is serveAgain for use off the test goroutine: it
// returns -1 when the bound passes.
func serveAgainNoFatal(c *client.Client, method string, since time.Time, bound time.Duration) time.Duration {
	d, _ := serveAgainErr(c, method, since, bound)
	return d
}

// serveAgainErr is serveAgainNoFatal that also returns the last call's
// error when the bound passes.
func serveAgainErr(c *client.Client, method string, since time.Time, bound time.Duration) (time.Duration, error) {
	c = c.Prepare(client.Timeout(time.Second))
	deadline := time.Now().Add(bound)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = c.Call(ctx, nil, method, nil, nil)
		cancel()
		if err == nil {
			return time.Since(since), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return -1, err
}
