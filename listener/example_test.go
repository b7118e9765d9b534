package listener_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/listener"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
	"github.com/oslohost/oslohost/transport"
)

func TestMain(m *testing.M) {
	pypeer.ExamplesNeedBroker()
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		var queues []string
		for _, t := range exampleTopics {
			queues = append(queues, t+".info")
		}
		pypeer.DeleteQueues(queues...)
		os.Exit(code)
	}))
}

// A Go program listening to oslo.messaging notifications in-process,
// without the host: what a Python service sends with
// Notifier(transport, "compute.host1", topics=[topic]).info(ctxt, ...)
// arrives here, as the Go notifier's does.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	t, err := transport.Dial(ctx, transport.Config{URL: pypeer.URL()}) // e.g. rabbit://guest:guest@127.0.0.1:5672/
	if err != nil {
		fmt.Println(err)
		return
	}
	defer t.Close()

	got := make(chan *listener.Message, 1)
	topic := unique("notifications")
	l, err := listener.New(t, listener.Config{
		Targets:    []listener.Target{{Topic: topic}},
		Priorities: []string{"info"},
		Handler: listener.HandlerFunc(func(_ context.Context, m *listener.Message) (listener.Result, error) {
			got <- m
			return listener.Handled, nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := l.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer l.Shutdown(context.Background())

	n, err := client.NewNotifier(t, "compute.host1", client.Topics(topic))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := n.Info(ctx, nil, "compute.instance.create.end", map[string]string{"instance_id": "i-1"}); err != nil {
		fmt.Println(err)
		return
	}
	select {
	case m := <-got:
		fmt.Println(m.Priority, m.PublisherID, m.EventType, string(m.Payload))
	case <-ctx.Done():
		fmt.Println("no notification")
	}
	// Output: info compute.host1 compute.instance.create.end {"instance_id":"i-1"}
}

// exampleTopics are the topics the Examples used (their queues are
// deleted after the run, in TestMain).
var exampleTopics []string

// unique is a topic of its own for one run of an Example.
func unique(name string) string {
	topic := "example-" + name + "-" + oslo.NewID()[:8]
	exampleTopics = append(exampleTopics, topic)
	return topic
}
