package interop

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/faultproxy"
	"github.com/oslohost/oslohost/test/pypeer"
)

// fleetOptions are the [oslo_messaging_rabbit] options oslo.messaging 16.1.0
// added (or changed), as a modern fleet sets them in its transport URL.
// HOST and PROC are replaced by names unique to the test.
var fleetOptions = []struct{ name, query string }{
	{"transient quorum", "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true"},
	{"transient quorum with limits", "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_quorum_delivery_limit=5&rabbit_quorum_max_memory_length=1000&rabbit_quorum_max_memory_bytes=1048576"},
	{"stream fanout", "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=10"},
	{"queue manager", "use_queue_manager=true&hostname=HOST&processname=PROC"},
	{"queue manager with transient quorum", "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&use_queue_manager=true&hostname=HOST&processname=PROC"},
	{"reconnect splay", "kombu_reconnect_splay=0.5"},
	{"no transient ttl", "rabbit_transient_queues_ttl=0"},
	{"explicit prefetch", "rabbit_qos_prefetch_count=1"},
}

// fleetURL is the broker URL with the option's query, names made unique.
func fleetURL(t *testing.T, query string) (url, host string) {
	pypeer.QueueManagerReady(t)
	host = pypeer.UniqueName(t, "node")
	query = strings.NewReplacer("HOST", host, "PROC", "proc").Replace(query)
	t.Cleanup(func() { _ = os.Remove("/dev/shm/" + host + "_proc_qmanager") })
	return pypeer.URL() + "?" + query, host
}

// deleteQueuesAfter deletes, at cleanup, queues the test leaves on purpose
// (stream and queue manager fanout queues are never deleted by their
// servers, reply queues are left to expire).
func deleteQueuesAfter(t *testing.T, names ...string) {
	t.Cleanup(func() {
		conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
		if err != nil {
			return
		}
		defer conn.Close()
		for _, n := range names {
			// A channel each: deleting a missing queue closes the channel.
			if ch, err := conn.Channel(); err == nil {
				if _, err := ch.QueueDelete(n, false, false, false); err == nil {
					_ = ch.Close()
				}
			}
		}
	})
}

func rawChannel(t testing.TB) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// queueExists declares the queue passively on a throwaway channel.
func queueExists(t testing.TB, name string) bool {
	t.Helper()
	ch := rawChannel(t)
	_, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	return err == nil
}

// TestFleet16Options: with each option of a 16.1.0 fleet in the transport
// URL, in both directions (a 16.1.0 client calling and fanning out to a Go
// server; the Go client calling and fanning out to a 16.1.0 server), and
// as one fleet: a 16.1.0 server and a Go server on one topic share the
// calls, and a fanout cast reaches both.
func TestFleet16Options(t *testing.T) {
	pypeer.RequirePeer(t, pypeer.PeerTrixie)
	for _, opt := range fleetOptions {
		t.Run(opt.name, func(t *testing.T) {
			t.Parallel()
			url, host := fleetURL(t, opt.query)
			exchange := pypeer.UniqueName(t, "f16x")
			topic := pypeer.UniqueName(t, "f16")
			leftovers := []string{topic + "_fanout", topic, topic + ".g", topic + ".p"}
			for n := 1; n <= 6; n++ { // the queue manager's names, left to expire
				leftovers = append(leftovers, fmt.Sprintf("%s_fanout_%s:proc:%d", topic, host, n), fmt.Sprintf("reply_%s:proc:%d", host, n))
			}
			deleteQueuesAfter(t, leftovers...)

			gs := startGoServer(t, serverOpts{url: url, exchange: exchange, topic: topic, server: "g"})
			py := pypeer.StartServer(t, pypeer.ServerOptions{URL: url, Exchange: exchange, Topic: topic, Server: "p", Peer: pypeer.PeerTrixie})
			pyc := pypeer.StartClient(t, pypeer.ClientOptions{URL: url, Exchange: exchange, Peer: pypeer.PeerTrixie})
			tr, err := client.Dial(bg(t, 20*time.Second), client.Config{URL: url, ControlExchange: exchange})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() })

			// Directed calls, both directions.
			r, err := pyc.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Server: "g", Method: "whoami", Timeout: 20})
			if err != nil || string(r.Result) != `"g"` {
				t.Fatalf("16.1.0 client -> Go server: %v %s %s %s", err, r.Result, r.ExcClass, r.Msg)
			}
			var who string
			if err := client.New(tr, oslo.Target{Topic: topic, Server: "p"}, client.Timeout(20*time.Second)).Call(bg(t, time.Minute), nil, "whoami", nil, &who); err != nil || who != "p" {
				t.Fatalf("Go client -> 16.1.0 server: %q %v", who, err)
			}

			// One topic, two servers: calls are shared.
			seen := map[string]int{}
			shared := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))
			for i := 0; i < 20; i++ {
				var who string
				if err := shared.Call(bg(t, time.Minute), nil, "whoami", nil, &who); err != nil {
					t.Fatalf("call %d to the topic: %v", i, err)
				}
				seen[who]++
			}
			for i := 0; i < 20; i++ {
				r, err := pyc.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "whoami", Timeout: 20})
				if err != nil || !r.OK {
					t.Fatalf("16.1.0 call %d to the topic: %v %s %s", i, err, r.ExcClass, r.Msg)
				}
				var who string
				_ = r.Decode(&who)
				seen[who]++
			}
			if seen["g"] == 0 || seen["p"] == 0 || seen["g"]+seen["p"] != 40 {
				t.Errorf("40 calls to the topic answered by %v, want both servers", seen)
			}

			// Fanout from either client reaches both servers.
			if err := client.New(tr, oslo.Target{Topic: topic, Fanout: true}).Cast(bg(t, time.Minute), nil, "record", map[string]any{"from": "go"}); err != nil {
				t.Fatal(err)
			}
			if _, err := pyc.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCast, Topic: topic, Fanout: true, Method: "record", Args: map[string]any{"from": "py"}}); err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for i := 0; i < 2; i++ {
				c := nextCast(t, gs.casts)
				got[c.Args["from"].(string)] = true
			}
			if !got["go"] || !got["py"] {
				t.Errorf("Go server's fanout casts: %v, want from go and py", got)
			}
			casts, err := py.Casts(bg(t, 20*time.Second), 2)
			if err != nil {
				t.Fatalf("16.1.0 server's fanout casts: %v (%v)", casts, err)
			}
		})
	}
}

// TestFleet16QueueManagerShared: use_queue_manager names queues
// "<host>:<proc>:<n>" from one counter that oslohost and a 16.1.0 process
// of the same host and process name share (/dev/shm, under oslo's lock):
// the Go server takes 1, the Python server started after it 2, the Go
// client's reply queue 3. A stopped server leaves its fanout queue to
// expire.
func TestFleet16QueueManagerShared(t *testing.T) {
	pypeer.RequirePeer(t, pypeer.PeerTrixie)
	url, host := fleetURL(t, "use_queue_manager=true&hostname=HOST&processname=PROC")
	exchange := pypeer.UniqueName(t, "qmx")
	topic := pypeer.UniqueName(t, "qm")
	name := func(n string) string { return host + ":proc:" + n }
	deleteQueuesAfter(t, topic+"_fanout_"+name("1"), topic+"_fanout_"+name("2"), "reply_"+name("3"), "reply_"+name("4"),
		topic, topic+".g", topic+".p")

	gs := startGoServer(t, serverOpts{url: url, exchange: exchange, topic: topic, server: "g"})
	if !queueExists(t, topic+"_fanout_"+name("1")) {
		t.Fatalf("the Go server's fanout queue is not %s", topic+"_fanout_"+name("1"))
	}
	pypeer.StartServer(t, pypeer.ServerOptions{URL: url, Exchange: exchange, Topic: topic, Server: "p", Peer: pypeer.PeerTrixie})
	if !queueExists(t, topic+"_fanout_"+name("2")) {
		t.Fatalf("the 16.1.0 server's fanout queue is not %s: the counter is not shared", topic+"_fanout_"+name("2"))
	}
	tr, err := client.Dial(bg(t, 20*time.Second), client.Config{URL: url, ControlExchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var who string
	if err := client.New(tr, oslo.Target{Topic: topic, Server: "p"}, client.Timeout(20*time.Second)).Call(bg(t, time.Minute), nil, "whoami", nil, &who); err != nil || who != "p" {
		t.Fatalf("call: %q %v", who, err)
	}
	if !queueExists(t, "reply_"+name("3")) {
		t.Fatalf("the Go client's reply queue is not reply_%s", name("3"))
	}
	if err := gs.Shutdown(bg(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !queueExists(t, topic+"_fanout_"+name("1")) {
		t.Errorf("the stopped Go server deleted its queue manager fanout queue; oslo leaves it to expire")
	}
}

// TestFleet16StreamFanoutShared: with rabbit_stream_fanout every server of
// a topic consumes the one stream "<topic>_fanout" (x-queue-type stream,
// x-max-age from rabbit_transient_queues_ttl), which outlives them.
func TestFleet16StreamFanoutShared(t *testing.T) {
	pypeer.RequirePeer(t, pypeer.PeerTrixie)
	url, _ := fleetURL(t, "rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=10&rabbit_transient_queues_ttl=600")
	exchange := pypeer.UniqueName(t, "sfx")
	topic := pypeer.UniqueName(t, "sf")
	deleteQueuesAfter(t, topic+"_fanout", topic, topic+".g", topic+".p")
	// The 16.1.0 server declares the stream first: the Go server's
	// declaration must be equivalent or RabbitMQ refuses it (406).
	py := pypeer.StartServer(t, pypeer.ServerOptions{URL: url, Exchange: exchange, Topic: topic, Server: "p", Peer: pypeer.PeerTrixie})
	gs := startGoServer(t, serverOpts{url: url, exchange: exchange, topic: topic, server: "g"})
	ch := rawChannel(t)
	if _, err := ch.QueueDeclare(topic+"_fanout", true, false, false, false, amqp.Table{"x-queue-type": "stream", "x-max-age": "600s"}); err != nil {
		t.Fatalf("the fanout queue is not the stream oslo declares: %v", err)
	}
	tr, err := client.Dial(bg(t, 20*time.Second), client.Config{URL: url, ControlExchange: exchange})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := 0; i < 3; i++ {
		if err := client.New(tr, oslo.Target{Topic: topic, Fanout: true}).Cast(bg(t, time.Minute), nil, "record", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[float64]bool{}
	for i := 0; i < 3; i++ {
		n, _ := nextCast(t, gs.casts).Args["n"].(float64)
		got[n] = true
	}
	if len(got) != 3 {
		t.Errorf("Go server's fanout casts %v, want 0, 1 and 2 (the pool runs them in any order)", got)
	}
	if casts, err := py.Casts(bg(t, 20*time.Second), 3); err != nil {
		t.Fatalf("16.1.0 server: %v %v", casts, err)
	}
	if err := gs.Shutdown(bg(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !queueExists(t, topic+"_fanout") {
		t.Errorf("the stopped Go server deleted the shared stream")
	}
}

// TestStreamFanoutResumesAfterReconnect: a server consuming the stream
// fanout queue resumes after a lost connection one past the last offset it
// saw, as oslo's consumer does (next_stream_offset): the casts published
// while it was away all arrive, none twice. From "last" the broker would
// start at the newest chunk and lose the earlier ones.
func TestStreamFanoutResumesAfterReconnect(t *testing.T) {
	proxy := faultproxy.Start(t, "127.0.0.1:5672")
	topic := pypeer.UniqueName(t, "sfresume")
	deleteQueuesAfter(t, topic+"_fanout", topic, topic+".s")
	query := "?rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=10&heartbeat_timeout_threshold=1"
	gs := startGoServer(t, serverOpts{url: "rabbit://guest:guest@" + proxy.Addr() + "/" + query, topic: topic, server: "s"})
	tr, err := client.Dial(bg(t, 20*time.Second), client.Config{URL: pypeer.URL() + query})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	fanout := client.New(tr, oslo.Target{Topic: topic, Fanout: true})
	cast := func(n int) {
		t.Helper()
		if err := fanout.Cast(bg(t, time.Minute), nil, "record", map[string]any{"n": n}); err != nil {
			t.Fatal(err)
		}
	}
	got := map[int]int{}
	receive := func(count int) {
		t.Helper()
		for i := 0; i < count; i++ {
			n, _ := nextCast(t, gs.casts).Args["n"].(float64)
			got[int(n)]++
		}
	}
	for i := 0; i < 3; i++ {
		cast(i)
	}
	receive(3)

	proxy.Stall()
	eventually(t, 15*time.Second, "heartbeat detects the stalled path", func() error {
		if gs.conn.Connected() {
			return rabbit.ErrClosed
		}
		return nil
	})
	for i := 3; i < 6; i++ {
		cast(i) // each its own chunk: the stream's newest is 5
	}
	proxy.Restore()
	receive(3)
	select {
	case c := <-gs.casts:
		t.Errorf("an extra cast after the reconnect: %v", c.Args)
	case <-time.After(time.Second):
	}
	for i := 0; i < 6; i++ {
		if got[i] != 1 {
			t.Errorf("cast %d arrived %d times (all: %v)", i, got[i], got)
		}
	}
}
