package interop

import (
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestDeclarationOptionsInterop: with the same transport options, a Go
// server and Python clients (and the reverse) declare equivalent queues and
// exchanges, so RabbitMQ accepts both and calls flow: quorum queues and
// durable queues, set in the transport URL's query as oslo allows.
func TestDeclarationOptionsInterop(t *testing.T) {
	pypeer.Python(t)
	for _, query := range []string{"rabbit_quorum_queue=true&rabbit_quorum_delivery_limit=3", "amqp_durable_queues=true", "rabbit_ha_queues=true"} {
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
