package listener

import (
	"context"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx"
)

// handOver is a Source that gives the test its handler, to call
// synchronously: the intake's own cost, without a consumer goroutine.
type handOver struct{ h rabbit.Handler }

func (s *handOver) Consume(_ rabbit.ConsumeSpec, h rabbit.Handler) intake.Consumer {
	s.h = h
	return readyConsumer{}
}

type readyConsumer struct{}

func (readyConsumer) WaitReady(context.Context) error { return nil }
func (readyConsumer) Stop(context.Context) error      { return nil }
func (readyConsumer) Done() <-chan struct{}           { return nil }
func (readyConsumer) State() rabbit.ConsumerState {
	return rabbit.ConsumerState{State: rabbit.ConsumerConsuming}
}

type nopAcker struct{}

func (nopAcker) Ack(uint64, bool) error        { return nil }
func (nopAcker) Nack(uint64, bool, bool) error { return nil }
func (nopAcker) Reject(uint64, bool) error     { return nil }

// BenchmarkListenerIntake is one notification delivery through the
// intake (checks, decode, window, Blocking executor), the handler and
// the ack. The notification has no _unique_id, so the window stays empty.
func BenchmarkListenerIntake(b *testing.B) {
	src := &handOver{}
	l, err := newListener(transportx.NewShared(nil, rabbit.Options{}, "x", nil, false), src, benchListenerConfig())
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	d := benchNotification()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		src.h(ctx, d)
	}
}

func benchListenerConfig() Config {
	return Config{Targets: []Target{{Topic: "bench"}}, Executor: executors.NewBlocking(),
		Handler: HandlerFunc(func(context.Context, *Message) (Result, error) { return Handled, nil })}
}

func benchNotification() amqp.Delivery {
	body := []byte(`{"oslo.version": "2.0", "oslo.message": "{\"message_id\": \"6c0f4b3e-1c5f-4b8e-9d2c-7a9e3f1b2c4d\", \"publisher_id\": \"compute.host1\", \"event_type\": \"compute.instance.create.end\", \"priority\": \"INFO\", \"payload\": {\"instance_id\": \"i-1\", \"state\": \"active\"}, \"timestamp\": \"2026-12-03 12:00:00.000001\", \"_context_user_id\": \"u\", \"_context_project_id\": \"p\", \"_context_request_id\": \"req-1\"}"}`)
	return amqp.Delivery{ContentType: "application/json", RoutingKey: "bench.info", Body: body, Acknowledger: nopAcker{}}
}
