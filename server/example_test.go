package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
	"github.com/oslohost/oslohost/test/pypeer"
	"github.com/oslohost/oslohost/transport"
)

func TestMain(m *testing.M) {
	pypeer.ExamplesNeedBroker()
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		pypeer.DeleteQueues(exampleQueues...)
		os.Exit(code)
	}))
}

// exampleQueues are the queues the Examples leave (deleted after the run).
var exampleQueues []string

// unique is a topic of its own for one run of an Example.
func unique(name string) string {
	topic := "example-" + name + "-" + oslo.NewID()[:8]
	exampleQueues = append(exampleQueues, topic, topic+".example-server")
	return topic
}

// A Go program serving an oslo.messaging RPC endpoint in-process, without
// the host: Python services reach it with
// RPCClient(transport, Target(topic=topic)).call(ctxt, "add", a=1, b=2),
// as the Go client does here.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t, err := transport.Dial(ctx, transport.Config{URL: pypeer.URL()}) // e.g. rabbit://guest:guest@127.0.0.1:5672/
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()

	add := server.HandlerFunc(func(_ context.Context, c *server.Call) (json.RawMessage, error) {
		var args struct{ A, B int }
		if err := json.Unmarshal(c.Args, &args); err != nil {
			return nil, err
		}
		return json.Marshal(args.A + args.B)
	})
	topic := unique("calc")
	srv, err := server.New(t, server.Config{
		Target:     oslo.Target{Topic: topic, Server: "example-server"},
		Dispatcher: server.NewDispatcher(server.Endpoint{Version: "1.1", Methods: map[string]server.Handler{"add": add}}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())

	c := client.New(t, oslo.Target{Topic: topic, Version: "1.0"}, client.Timeout(10*time.Second))
	var sum int
	if err := c.Call(ctx, nil, "add", map[string]int{"a": 1, "b": 2}, &sum); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("1 + 2 =", sum)
	// Output: 1 + 2 = 3
}
