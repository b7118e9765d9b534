package server

import (
	"context"
	"testing"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/intake"
	"github.com/oslohost/oslohost/internal/rabbit"
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

// BenchmarkIntakeCast is one cast delivery through the intake (checks,
// decode, duplicate window, Blocking executor, ack) and dispatch.
func BenchmarkIntakeCast(b *testing.B) {
	bs := benchServer()
	src := &handOver{}
	cfg := bs.cfg
	cfg.Target.Topic, cfg.MaxBodySize, cfg.Executor, cfg.Logger = "bench", DefaultMaxBodySize, executors.NewBlocking(), hclog.NewNullLogger()
	s, err := newServer(cfg, rabbit.Options{}, src, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	d := amqp.Delivery{ContentType: "application/json", Body: benchRequest(b).Encode(), Acknowledger: nopAcker{}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		src.h(ctx, d)
	}
}
