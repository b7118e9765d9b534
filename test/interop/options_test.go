package interop

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestDeclarationOptionsInterop: with the same transport options, a Go
// server and Python clients (and the reverse) declare equivalent queues and
// exchanges, so RabbitMQ accepts both and calls flow: quorum queues and
// durable queues, set in the transport URL's query as oslo allows.
func TestDeclarationOptionsInterop(t *testing.T) {
	pypeer.Python(t)
	for _, query := range []string{"rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=3", "amqp_durable_queues=true", "rabbit_ha_queues=true",
		// 14.0.3 knows the memory limits only by their misspelt names.
		"rabbit_quorum_queue=true&rabbit_quroum_max_memory_length=1000&rabbit_quroum_max_memory_bytes=1048576"} {
		t.Run(query, func(t *testing.T) {
			url := pypeer.URL() + "?" + query
			exchange := pypeer.UniqueName(t, "optx")
			// Python client -> Go server.
			topic := pypeer.UniqueName(t, "opt")
			startGoServer(t, serverOpts{url: url, exchange: exchange, topic: topic, server: "g"})
			py := pypeer.StartClient(t, pypeer.ClientOptions{URL: url, Exchange: exchange})
			r, err := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "whoami", Timeout: 20})
			if err != nil || string(r.Result) != `"g"` {
				t.Fatalf("python -> go: %v %s %s %s", err, r.Result, r.ExcClass, r.Msg)
			}
			// Go client -> Python server on the same exchange.
			pytopic := pypeer.UniqueName(t, "optpy")
			pypeer.StartServer(t, pypeer.ServerOptions{URL: url, Exchange: exchange, Topic: pytopic, Server: "p"})
			tr, err := client.Dial(bg(t, 20*time.Second), client.Config{URL: url, ControlExchange: exchange})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			var who string
			if err := client.New(tr, oslo.Target{Topic: pytopic}, client.Timeout(20*time.Second)).Call(bg(t, time.Minute), nil, "whoami", nil, &who); err != nil || who != "p" {
				t.Fatalf("go -> python: %q %v", who, err)
			}
		})
	}
}

// TestExplicitPrefetch: rabbit_qos_prefetch_count given in the URL means
// what oslo means: 0 sends no basic.qos (the broker hands the consumer
// every message at once), n holds the rest back; without it a server
// prefetches its executor's capacity. Observed as the messages the topic
// queue still holds while one slow cast runs on a blocking executor.
func TestExplicitPrefetch(t *testing.T) {
	tests := []struct {
		query     string
		wantReady int // of 10 casts, while the first runs
	}{
		{"", 8},                             // capacity 1: one running, one prefetched
		{"?rabbit_qos_prefetch_count=0", 0}, // no basic.qos: all delivered
		{"?rabbit_qos_prefetch_count=3", 6}, // one running, three prefetched
	}
	for _, tt := range tests {
		t.Run("query="+tt.query, func(t *testing.T) {
			topic := pypeer.UniqueName(t, "prefetch")
			startGoServer(t, serverOpts{url: pypeer.URL() + tt.query, topic: topic, server: "s", executor: executors.NewBlocking()})
			p := newRawPeer(t)
			for i := 0; i < 10; i++ {
				p.publish(t, topic, amqp.Publishing{Body: oslo.Wrap([]byte(`{"method":"slow","args":{"seconds":1},"_unique_id":"` + oslo.NewID() + `"}`))})
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				q, err := p.ch.QueueDeclarePassive(topic, false, false, false, false, nil)
				if err != nil {
					t.Fatal(err)
				}
				if q.Messages == tt.wantReady {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("queue holds %d ready messages, want %d", q.Messages, tt.wantReady)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
