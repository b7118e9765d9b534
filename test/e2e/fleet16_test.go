package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestFleet16ThroughHost: `oslohost run` with a modern fleet's options in
// its transport block's oslo_messaging_rabbit (quorum, transient quorum,
// stream fanout, queue manager) joins a topic served by a 16.1.0 Python
// server with the same options in its URL: RabbitMQ accepts both
// declarations, a 16.1.0 client reaches the host's server directly, and
// calls to the topic are shared by the two.
func TestFleet16ThroughHost(t *testing.T) {
	pypeer.RequirePeer(t, pypeer.PeerTrixie)
	pypeer.QueueManagerReady(t)
	prefix := pypeer.UniqueName(t, "e2e16")
	host := pypeer.UniqueName(t, "node")
	t.Cleanup(func() {
		_ = os.Remove("/dev/shm/" + host + "_oslohost_qmanager")
		_ = os.Remove("/dev/shm/" + host + "_python_qmanager")
	})
	topic := prefix + "-echo"
	t.Cleanup(func() { // after the host and the Python peers stopped
		conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
		if err != nil {
			return
		}
		defer conn.Close()
		for _, q := range []string{topic + "_fanout", topic, topic + ".h1", topic + ".p",
			"reply_" + host + ":python:1", "reply_" + host + ":python:2", "reply_" + host + ":oslohost:1"} {
			if ch, err := conn.Channel(); err == nil { // a channel each: a failed delete closes it
				if _, err := ch.QueueDelete(q, false, false, false); err == nil {
					_ = ch.Close()
				}
			}
		}
	})
	runHost(t, writeConfig(t, fmt.Sprintf(`transport {
  url = %q
  oslo_messaging_rabbit = {
    rabbit_quorum_queue           = true
    rabbit_transient_quorum_queue = true
    rabbit_stream_fanout          = true
    rabbit_qos_prefetch_count     = 16
    use_queue_manager             = true
    hostname                      = %q
    processname                   = "oslohost"
  }
}
plugin "echo" {
  command = %q
}
server "echo" {
  topic   = %q
  server  = "h1"
  plugins = ["echo"]
}
`, pypeer.URL(), host, bin.echo, topic)))
	query := "?rabbit_quorum_queue=true&rabbit_transient_quorum_queue=true&rabbit_stream_fanout=true&rabbit_qos_prefetch_count=16&use_queue_manager=true&hostname=" + host + "&processname=python"
	pypeer.StartServer(t, pypeer.ServerOptions{URL: pypeer.URL() + query, Topic: topic, Server: "p", Peer: pypeer.PeerTrixie})
	py := pypeer.StartClient(t, pypeer.ClientOptions{URL: pypeer.URL() + query, Peer: pypeer.PeerTrixie})

	r, err := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Server: "h1", Method: "echo", Args: map[string]any{"value": "x"}, Timeout: 20})
	if err != nil || !r.OK || string(r.Result) != `"x"` {
		t.Fatalf("16.1.0 client -> oslohost: %v %s %s %s", err, r.Result, r.ExcClass, r.Msg)
	}
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		r, err := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "echo", Args: map[string]any{"value": "x"}, Timeout: 20})
		if err != nil || !r.OK {
			t.Fatalf("call %d: %v %s %s", i, err, r.ExcClass, r.Msg)
		}
		var fromPython struct{ Server string }
		if json.Unmarshal(r.Result, &fromPython) == nil && fromPython.Server == "p" {
			seen["python"]++
		} else {
			seen["oslohost"]++
		}
	}
	if seen["python"] == 0 || seen["oslohost"] == 0 {
		t.Errorf("20 calls to the topic answered by %v, want both", seen)
	}
}
