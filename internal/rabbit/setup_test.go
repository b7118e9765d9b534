package rabbit

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"
)

// frameProxy forwards AMQP connections to a broker and, while swallowing,
// drops the broker's method frames of one class and method (basic.consume-ok
// is 60/21, queue.declare-ok 50/11) and passes everything else, heartbeats
// included: the broker looks alive to the client but never answers that
// method.
type frameProxy struct {
	ln              net.Listener
	class, method   uint16
	swallow         atomic.Bool
	swallowed       chan struct{} // one value per frame dropped (when there is room)
	mu              sync.Mutex
	conns           []net.Conn
	wg              sync.WaitGroup
	upstream        string
	closeOnce       sync.Once
	acceptsFinished chan struct{}
}

func startFrameProxy(t *testing.T, upstream string, class, method uint16) *frameProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &frameProxy{ln: ln, class: class, method: method, upstream: upstream,
		swallowed: make(chan struct{}, 16), acceptsFinished: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *frameProxy) dial(string, string) (net.Conn, error) {
	return net.DialTimeout("tcp", p.ln.Addr().String(), 5*time.Second)
}

func (p *frameProxy) accept() {
	defer close(p.acceptsFinished)
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, down); up.Close(); down.Close() }()
		go func() { defer p.wg.Done(); p.filter(down, up); up.Close(); down.Close() }()
	}
}

// filter copies the broker's frames (type, channel, size, payload, 0xCE)
// to the client, dropping the swallowed method.
func (p *frameProxy) filter(dst io.Writer, src io.Reader) {
	r := bufio.NewReader(src)
	hdr := make([]byte, 7)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(hdr[3:])
		frame := make([]byte, 7+int(size)+1)
		copy(frame, hdr)
		if _, err := io.ReadFull(r, frame[7:]); err != nil {
			return
		}
		if hdr[0] == 1 && size >= 4 && p.swallow.Load() &&
			binary.BigEndian.Uint16(frame[7:]) == p.class && binary.BigEndian.Uint16(frame[9:]) == p.method {
			select {
			case p.swallowed <- struct{}{}:
			default:
			}
			continue
		}
		if _, err := dst.Write(frame); err != nil {
			return
		}
	}
}

// cut closes every connection through the proxy.
func (p *frameProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *frameProxy) close() {
	p.closeOnce.Do(func() {
		p.ln.Close()
		<-p.acceptsFinished
		p.cut()
		p.wg.Wait()
	})
}

// logLines is an hclog output that hands each line to the test.
type logLines struct {
	t     *testing.T
	lines chan string
}

func (l *logLines) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		l.t.Log(line)
		select {
		case l.lines <- line:
		default:
		}
	}
	return len(b), nil
}

// wait returns the first line holding every one of parts, failing the
// test after d.
func (l *logLines) wait(d time.Duration, parts ...string) string {
	l.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line := <-l.lines:
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return line
			}
		case <-timeout:
			l.t.Fatalf("no log line with %q within %s", parts, d)
		}
	}
}

// TestConsumerSetupStepTimesOut: after a reconnect the broker (a proxy in
// front of it) stops answering basic.consume while heartbeats keep the
// connection alive, as a node without a working stream coordinator does.
// The consumer gives the step up after its SetupTimeout, logs the retry
// with the step, shows itself reconnecting, and consumes again once the
// broker answers, logging the downtime. Before the fix the consumer waited
// for the consume-ok forever.
func TestConsumerSetupStepTimesOut(t *testing.T) {
	brokerOrSkip(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	proxy := startFrameProxy(t, "127.0.0.1:5672", 60, 21)
	defer proxy.close()
	logs := &logLines{t: t, lines: make(chan string, 256)}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	u, err := ParseURL(testURL + "?heartbeat_timeout_threshold=2")
	if err != nil {
		t.Fatal(err)
	}
	u.Options.RetryInterval = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: u, Name: "setup-timeout-test", Logger: log, Dial: proxy.dial})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := Topology{TransientTTL: time.Minute}.SharedQueue(uniq("setup-timeout"))
	got := make(chan string, 4)
	const step = 700 * time.Millisecond
	cs := c.Consume(ConsumeSpec{
		Name: "stuck", Declare: Declarations{Queues: []QueueDecl{q}}, Queues: []string{q.Name},
		Prefetch: 1, DeleteOnStop: []string{q.Name}, SetupTimeout: step,
	}, func(_ context.Context, d amqp.Delivery) { _ = d.Ack(false); got <- string(d.Body) })
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := cs.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if err := cs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if st := cs.State(); st.State != ConsumerConsuming {
		t.Fatalf("state after ready: %+v", st)
	}

	proxy.swallow.Store(true)
	lost := time.Now()
	proxy.cut()
	select {
	case <-proxy.swallowed:
	case <-time.After(20 * time.Second):
		t.Fatal("the consumer did not send basic.consume again after the cut")
	}
	line := logs.wait(10*time.Second, "consumer setup failed; retrying", "basic.consume", "no answer from the broker within 700ms")
	if !strings.Contains(line, "[WARN]") {
		t.Errorf("retry not logged at Warn: %s", line)
	}
	if took := time.Since(lost); took > 10*time.Second {
		t.Errorf("step given up %s after the cut", took)
	}
	st := cs.State()
	var te *SetupTimeoutError
	if st.State != ConsumerReconnecting || !errors.As(st.LastError, &te) || !strings.Contains(te.Step, "basic.consume") {
		t.Fatalf("state while the broker does not answer: %+v", st)
	}

	proxy.swallow.Store(false)
	line = logs.wait(15*time.Second, "consuming again", "consumer=stuck", "downtime=")
	if !strings.Contains(line, "[INFO]") {
		t.Errorf("resume not logged at Info: %s", line)
	}
	if st := cs.State(); st.State != ConsumerConsuming || st.LastError == nil {
		t.Fatalf("state after resuming: %+v", st)
	}
	if err := c.Publish(ctx, Message{Key: q.Name, Body: []byte("after"), Expiration: "60000"}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b != "after" {
			t.Fatalf("got %q", b)
		}
	case <-ctx.Done():
		t.Fatal("nothing consumed after the broker answered again")
	}
}

// TestConsumerStateTransitions: starting until the first consume, failed
// attempts counted, reconnecting from the loss (not from each attempt),
// the downtime reported on resuming, a failure kept on stop.
func TestConsumerStateTransitions(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	s := newConsumerState(t0)
	check := func(state string, since time.Time, attempts int) {
		t.Helper()
		st := s.get()
		if st.State != state || !st.Since.Equal(since) || st.Attempts != attempts {
			t.Fatalf("got %s since %v, %d attempts; want %s since %v, %d", st.State, st.Since, st.Attempts, state, since, attempts)
		}
	}
	check(ConsumerStarting, t0, 0)
	boom := errors.New("boom")
	s.down(at(1), false, boom)
	check(ConsumerStarting, t0, 1)
	if down, n := s.consuming(at(2)); down != 0 || n != 0 {
		t.Fatalf("first consume reported as a resume: %s, %d", down, n)
	}
	check(ConsumerConsuming, at(2), 0)
	if !s.get().Ready() {
		t.Fatal("consuming not ready")
	}
	s.down(at(10), true, boom)
	check(ConsumerReconnecting, at(10), 0)
	s.down(at(11), false, &SetupTimeoutError{Step: "basic.consume"})
	s.down(at(13), false, boom)
	check(ConsumerReconnecting, at(10), 2)
	if s.get().Ready() {
		t.Fatal("reconnecting is ready")
	}
	if down, n := s.consuming(at(15)); down != 5*time.Second || n != 2 {
		t.Fatalf("resume: %s, %d attempts; want 5s, 2", down, n)
	}
	if s.get().LastError != boom {
		t.Fatal("last error not kept after resuming")
	}
	s.end(at(20), nil)
	check(ConsumerStopped, at(20), 0)

	f := newConsumerState(t0)
	f.end(at(1), boom)
	f.end(at(2), nil)
	check2 := f.get()
	if check2.State != ConsumerFailed || check2.LastError != boom {
		t.Fatalf("failed consumer: %+v", check2)
	}
}

// TestNoLocalReplicaClassified: RabbitMQ's 406 for a stream without a
// replica on the node (and its 506 for one not running yet) is neither a
// refusal (Failed before the first ready) nor like other 406s; wrapped as
// the consumer wraps it, it is still seen.
func TestNoLocalReplicaClassified(t *testing.T) {
	replica := &amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - stream queue 'q_fanout' in vhost '/' does not have a replica on the local node"}
	for _, tc := range []struct {
		err            error
		local, refused bool
	}{
		{replica, true, true},
		{fmt.Errorf("consume %q: %w", "q", replica), true, true},
		// Seen in cluster run D, closing the connection.
		{&amqp.Error{Code: amqp.ResourceError, Reason: "RESOURCE_ERROR - queue 'q_fanout' in vhost '/' does not have a running local replica"}, true, false},
		{&amqp.Error{Code: amqp.ResourceError, Reason: "RESOURCE_ERROR - cannot allocate channel"}, false, false},
		{&amqp.Error{Code: amqp.PreconditionFailed, Reason: "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'"}, false, true},
		{&amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED"}, false, true},
		{&amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue 'q' ... replica on the local node"}, false, false},
		{&SetupTimeoutError{Step: "basic.consume"}, false, false},
		{errors.New("channel closed"), false, false},
	} {
		if got := noLocalReplica(tc.err); got != tc.local {
			t.Errorf("noLocalReplica(%v) = %v", tc.err, got)
		}
		if got := refusedDeclaration(tc.err); got != tc.refused {
			t.Errorf("refusedDeclaration(%v) = %v", tc.err, got)
		}
	}
}

// TestHostRingAvoids: a failover's next dial takes another host, round
// robin or shuffled, and the only host when there is one.
func TestHostRingAvoids(t *testing.T) {
	hosts := make([]Host, 3)
	for _, strategy := range []string{"round-robin", "shuffle"} {
		r := newHostRing(hosts, strategy)
		for range 100 {
			if i := r.nextAvoiding(1); i == 1 {
				t.Fatalf("%s: took the avoided host", strategy)
			}
		}
	}
	if i := newHostRing(make([]Host, 1), "shuffle").nextAvoiding(0); i != 0 {
		t.Fatalf("single host: %d", i)
	}
}
