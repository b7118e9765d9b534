package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// latencies collects call latencies; safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// String is "n=…, p50=…, p99=…, max=…".
func (l *latencies) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return "n=0"
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(s), q(0.5), q(0.99), s[len(s)-1].Round(time.Millisecond))
}

// validLoad keeps one caller making valid calls (timeout 10 s) until
// stop is closed, recording latency and failures.
func validLoad(c *client.Client, method string, stop <-chan struct{}) (*latencies, *tally, <-chan struct{}) {
	lat, out := &latencies{}, &tally{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := c.Prepare(client.Timeout(10 * time.Second))
		for {
			select {
			case <-stop:
				return
			default:
			}
			begin := time.Now()
			err := c.Call(context.Background(), nil, method, nil, nil)
			lat.add(time.Since(begin))
			out.add(outcome(err))
			time.Sleep(5 * time.Millisecond) // about 150 valid calls/s
		}
	}()
	return lat, out, done
}

// heapAfterGC is the in-use heap after a full collection, in bytes.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMalformedFlood: 10,000 malformed messages published raw to a Go
// server's queue, five kinds. Calls whose reply address can be read get
// a failure reply (MalformedRequest); the rest are dropped (an unsupported
// envelope version silently, as oslo does). Valid calls keep being served meanwhile, the queue
// ends empty and the heap stays bounded.
func TestMalformedFlood(t *testing.T) {
	t.Parallel()
	const n = 10000
	topic := pypeer.UniqueName(t, "rel-malformed")
	startServer(t, brokerURL(), topic, nil)
	tr := dialClient(t, brokerURL(), "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic})
	if err := c.Call(bg(t, 20*time.Second), nil, "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	heapBefore := heapAfterGC()

	ch := rawChannel(t)
	replyQ := pypeer.UniqueName(t, "rel-malformed-replies")
	if _, err := ch.QueueDeclare(replyQ, false, true, true, false, nil); err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume(replyQ, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var failures sync.Map // class -> *atomic.Int64
	var replied atomic.Int64
	repliesDone := make(chan struct{})
	go func() {
		defer close(repliesDone)
		for d := range replies {
			r, err := oslo.DecodeReply(d.Body)
			class := "undecodable"
			if err == nil && r.Failure != nil {
				class = r.Failure.Class
			}
			v, _ := failures.LoadOrStore(class, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			replied.Add(1)
		}
	}()

	stop := make(chan struct{})
	lat, out, loadDone := validLoad(c, "echo", stop)
	inner := func(i int) string {
		b, _ := json.Marshal(map[string]any{"method": "echo", "args": map[string]any{}, "_msg_id": fmt.Sprintf("m%d", i), "_reply_q": replyQ, "_unique_id": oslo.NewID()})
		return string(b)
	}
	kinds := []struct {
		name  string
		reply bool
		make  func(i int) amqp.Publishing
	}{
		{"invalid JSON", false, func(i int) amqp.Publishing {
			return amqp.Publishing{ContentType: "application/json", Body: []byte(`{"oslo.version": "2.0", "oslo.message": ` + fmt.Sprint(i))}
		}},
		{"binary garbage", false, func(int) amqp.Publishing {
			b := make([]byte, 64+rand.N(512))
			for j := range b {
				b[j] = byte(rand.N(256))
			}
			return amqp.Publishing{ContentType: "application/json", Body: b}
		}},
		{"unknown envelope version (call)", false, func(i int) amqp.Publishing {
			b, _ := json.Marshal(map[string]string{"oslo.version": "9.9", "oslo.message": inner(i)})
			return amqp.Publishing{ContentType: "application/json", Body: b}
		}},
		{"wrong content type (call)", true, func(i int) amqp.Publishing {
			return amqp.Publishing{ContentType: "text/plain", Body: []byte(inner(i))}
		}},
		{"cast without a method, args not an object", false, func(int) amqp.Publishing {
			return amqp.Publishing{ContentType: "application/json", Body: []byte(`{"oslo.version": "2.0", "oslo.message": "{\"args\": 5, \"_unique_id\": 7}"}`)}
		}},
	}
	begin := time.Now()
	wantReplies := 0
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)]
		if k.reply {
			wantReplies++
		}
		if err := ch.PublishWithContext(bg(t, time.Minute), "", topic, false, false, k.make(i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	published := time.Since(begin)
	waitFor(t, 60*time.Second, "every malformed message handled", func() bool {
		return queueDepth(t, ch, topic) == 0 && replied.Load() >= int64(wantReplies)
	})
	handled := time.Since(begin)
	close(stop)
	<-loadDone
	heapAfter := heapAfterGC()
	classes := map[string]int64{}
	failures.Range(func(k, v any) bool { classes[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("result: malformed flood: %d messages (%d kinds) published in %v, all handled after %v; failure replies %v (want %d); valid calls meanwhile %v %v; heap after GC %.1f MB -> %.1f MB",
		n, len(kinds), published.Round(time.Millisecond), handled.Round(time.Millisecond), classes, wantReplies, lat, out.snapshot(),
		float64(heapBefore)/(1<<20), float64(heapAfter)/(1<<20))
	if replied.Load() != int64(wantReplies) {
		t.Errorf("got %d failure replies, want %d", replied.Load(), wantReplies)
	}
	if classes["MalformedRequest"] != int64(wantReplies) || len(classes) != 1 {
		t.Errorf("failure classes %v, want %d of MalformedRequest only", classes, wantReplies)
	}
	if out.get("ok") != out.total() || out.total() == 0 {
		t.Errorf("valid calls during the flood: %v, want all ok", out.snapshot())
	}
	if heapAfter > heapBefore+32<<20 {
		t.Errorf("heap grew from %d to %d bytes", heapBefore, heapAfter)
	}
}

// TestUnknownMethodFlood: 20,000 calls (100,000 under make soak) of a
// method no endpoint has, 200 in flight, to the oslohost binary: each gets
// a NoSuchMethod failure reply; valid calls keep being served; the
// host's queue ends empty and its RSS stays bounded.
func TestUnknownMethodFlood(t *testing.T) {
	t.Parallel()
	n := 20000
	if soaking() {
		n = 100000
	}
	h, c := faultyHost(t, "rel-nomethod", "")
	if err := c.Call(bg(t, 20*time.Second), nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	rssBefore := rssKB(t, h.Pid())
	stop := make(chan struct{})
	lat, out, loadDone := validLoad(c, "ok", stop)
	const inflight = 200
	var next atomic.Int64
	flood := &tally{}
	var wg sync.WaitGroup
	begin := time.Now()
	nc := c.Prepare(client.Timeout(30 * time.Second))
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				flood.add(outcome(nc.Call(context.Background(), nil, "no_such_method", nil, nil)))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("unknown-method flood not done after 5 minutes")
	}
	took := time.Since(begin)
	close(stop)
	<-loadDone
	ch := rawChannel(t)
	topic := c.Target().Topic
	waitFor(t, 30*time.Second, "host queue empty", func() bool { return queueDepth(t, ch, topic) == 0 })
	rssAfter := rssKB(t, h.Pid())
	t.Logf("result: unknown-method flood: %d calls, %d in flight, in %v (%.0f calls/s): %v; valid calls meanwhile %v %v; host RSS %d kB -> %d kB",
		n, inflight, took.Round(time.Millisecond), float64(n)/took.Seconds(), flood.snapshot(), lat, out.snapshot(), rssBefore, rssAfter)
	if flood.get("remote:NoSuchMethod") != n {
		t.Errorf("flood outcomes %v, want %d NoSuchMethod", flood.snapshot(), n)
	}
	if out.get("ok") != out.total() || out.total() == 0 {
		t.Errorf("valid calls during the flood: %v, want all ok", out.snapshot())
	}
	if rssAfter > rssBefore+64*1024 {
		t.Errorf("host RSS grew from %d kB to %d kB", rssBefore, rssAfter)
	}
}
