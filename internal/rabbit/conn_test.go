package rabbit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const testURL = "rabbit://guest:guest@127.0.0.1:5672/"

// brokerOrSkip skips when no broker answers, except in CI where that fails.
func brokerOrSkip(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs RabbitMQ (skipped with -short)")
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:5672", 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no RabbitMQ at 127.0.0.1:5672: %v", err)
		}
		t.Skipf("no RabbitMQ at 127.0.0.1:5672: %v", err)
	}
	c.Close()
}

func uniq(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func dialTest(t *testing.T, raw string) *Conn {
	t.Helper()
	brokerOrSkip(t)
	u, err := ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: u, Name: "rabbit-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPublishConsume: a confirmed publish reaches a consumer of a declared
// queue; a mandatory publish to nowhere comes back as *ReturnedError.
func TestPublishConsume(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	topo := Topology{TransientTTL: time.Minute}
	x := topo.ControlExchange(uniq("x"))
	q := topo.SharedQueue(uniq("q"))
	got := make(chan amqp.Delivery, 1)
	cs := c.Consume(ConsumeSpec{
		Name:    "test",
		Declare: Declarations{Exchanges: []ExchangeDecl{x}, Queues: []QueueDecl{q}, Bindings: []Binding{{Queue: q.Name, Exchange: x.Name, Key: "k"}}},
		Queues:  []string{q.Name}, Prefetch: 1, DeleteOnStop: []string{q.Name},
	}, func(_ context.Context, d amqp.Delivery) { _ = d.Ack(false); got <- d })
	defer cs.Stop(ctx)
	select {
	case <-cs.Ready():
	case <-ctx.Done():
		t.Fatal("consumer not ready")
	}
	if err := c.Publish(ctx, Message{Exchange: x.Name, Key: "k", Body: []byte(`{}`), Expiration: "5000", Declare: x}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.ContentType != "application/json" || d.ContentEncoding != "utf-8" || d.DeliveryMode != amqp.Persistent || d.Expiration != "5000" {
			t.Fatalf("properties %+v", d)
		}
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	err := c.Publish(ctx, Message{Exchange: x.Name, Key: "nobody", Body: []byte(`{}`), Mandatory: true})
	var ret *ReturnedError
	if !errors.As(err, &ret) || ret.Code != amqp.NoRoute {
		t.Fatalf("mandatory publish to nowhere: %v", err)
	}
	// The channel is still usable after a return.
	if err := c.Publish(ctx, Message{Exchange: x.Name, Key: "k", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

// TestDurableMismatchTolerated: an exchange and a queue that exist with
// the other durable flag are used as they are (newer oslo does the same).
func TestDurableMismatchTolerated(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	x, q := uniq("durx"), uniq("durq")
	ch, _, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(x, "topic", true, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(q, true, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	d := Declarations{
		Exchanges: []ExchangeDecl{{Name: x, Kind: "topic", AutoDelete: true}},
		Queues:    []QueueDecl{{Name: q, AutoDelete: true}},
	}
	ch2, _, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch2, err = c.declare(ctx, ch2, &d)
	if err != nil {
		t.Fatalf("declare with the other durable flag: %v", err)
	}
	defer ch2.Close()
	if !d.Exchanges[0].Durable || !d.Queues[0].Durable {
		t.Fatalf("flags not switched: %+v", d)
	}
	// Other mismatches are not papered over.
	bad := Declarations{Exchanges: []ExchangeDecl{{Name: x, Kind: "fanout", Durable: true, AutoDelete: true}}}
	if _, err := c.declare(ctx, ch2, &bad); err == nil {
		t.Fatal("a type mismatch was accepted")
	}
}

// TestFailoverToNextHost: the first host of the URL does not answer; the
// connection is made to the next.
func TestFailoverToNextHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	c := dialTest(t, "rabbit://guest:guest@"+dead+",guest:guest@127.0.0.1:5672/?rabbit_retry_interval=1&kombu_failover_strategy=round-robin")
	if !c.Connected() {
		t.Fatal("not connected")
	}
}

// TestPipelinedDirectPublishes: publishes to the default exchange share one
// channel without waiting for each other; run at once, each still learns
// its own fate. Mandatory ones to a queue that does not exist come back as
// *ReturnedError (and only those), the others arrive, and a broken shared
// channel is replaced for the publishes that follow.
func TestPipelinedDirectPublishes(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo := Topology{TransientTTL: time.Minute}
	q := topo.SharedQueue(uniq("direct"))
	got := make(chan amqp.Delivery, 512)
	cons := c.Consume(ConsumeSpec{Name: "pipe-test", Declare: Declarations{Queues: []QueueDecl{q}}, Queues: []string{q.Name}},
		func(_ context.Context, d amqp.Delivery) { _ = d.Ack(false); got <- d })
	t.Cleanup(func() { _ = cons.Stop(context.Background()) })
	select {
	case <-cons.Ready():
	case <-ctx.Done():
		t.Fatal("consumer not ready")
	}
	missing := uniq("nobody")
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		key := q.Name
		if i%3 == 0 {
			key = missing
		}
		wg.Go(func() {
			// Identical bodies to one key: a return must still count once.
			body := []byte(fmt.Sprintf(`{"i": %d}`, i%2))
			errs[i] = c.Publish(ctx, Message{Key: key, Body: body, Mandatory: true})
		})
	}
	wg.Wait()
	delivered := 0
	for i, err := range errs {
		var ret *ReturnedError
		switch {
		case i%3 == 0:
			if !errors.As(err, &ret) || ret.Key != missing {
				t.Errorf("publish %d to a missing queue: %v, want *ReturnedError", i, err)
			}
		case err != nil:
			t.Errorf("publish %d: %v", i, err)
		default:
			delivered++
		}
	}
	for range delivered {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatalf("not all %d routable publishes arrived", delivered)
		}
	}

	// Kill the shared channel: the next publishes go out on a new one.
	p, err := c.pub.pipe.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = p.ch.Close()
	if err := c.Publish(ctx, Message{Key: q.Name, Body: []byte(`{"after": "close"}`), Mandatory: true, Retries: 3}); err != nil {
		t.Fatalf("publish after the shared channel closed: %v", err)
	}
	select {
	case d := <-got:
		if string(d.Body) != `{"after": "close"}` {
			t.Errorf("got %s", d.Body)
		}
	case <-ctx.Done():
		t.Fatal("publish after close did not arrive")
	}
}

// TestPublishToDeclaredExchangeShared: publishes to an exchange go through
// the shared confirm channel once it is declared, concurrently; returns
// still reach the publish they belong to; and after the exchange is
// deleted under the publisher, a publish declares it again and arrives.
func TestPublishToDeclaredExchangeShared(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topo := Topology{TransientTTL: time.Minute}
	x := topo.ControlExchange(uniq("x"))
	x.AutoDelete = false
	q := topo.SharedQueue(uniq("q"))
	const n = 200
	got := make(chan string, 2*n)
	cs := c.Consume(ConsumeSpec{
		Name:    "test",
		Declare: Declarations{Exchanges: []ExchangeDecl{x}, Queues: []QueueDecl{q}, Bindings: []Binding{{Queue: q.Name, Exchange: x.Name, Key: "k"}}},
		Queues:  []string{q.Name}, DeleteOnStop: []string{q.Name}, AckOnReceipt: true,
	}, func(_ context.Context, d amqp.Delivery) { got <- string(d.Body) })
	defer cs.Stop(ctx)
	<-cs.Ready()
	if err := c.Publish(ctx, Message{Exchange: x.Name, Key: "k", Body: []byte(`"first"`), Declare: x}); err != nil {
		t.Fatal(err)
	}
	if !c.pub.pipe.hasDeclared(x.Name) {
		t.Fatal("exchange not known as declared after a confirmed publish")
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			key := "k"
			if i%10 == 0 {
				key = "nobody"
			}
			errs[i] = c.Publish(ctx, Message{Exchange: x.Name, Key: key, Body: fmt.Appendf(nil, `%d`, i), Mandatory: true, Declare: x})
		})
	}
	wg.Wait()
	for i, err := range errs {
		var ret *ReturnedError
		if i%10 == 0 {
			if !errors.As(err, &ret) {
				t.Fatalf("publish %d to nowhere: %v, want *ReturnedError", i, err)
			}
		} else if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	want := 1 + n - n/10
	for range want {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("not all publishes arrived")
		}
	}
	ch, _, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDelete(x.Name, false, false); err != nil {
		t.Fatal(err)
	}
	_ = ch.Close()
	// The shared channel dies of the 404; the publish is retried, declares
	// the exchange again on a pooled channel and arrives (with no binding
	// now: mandatory, it comes back).
	err = c.Publish(ctx, Message{Exchange: x.Name, Key: "k", Body: []byte(`"again"`), Mandatory: true, Declare: x, Retries: 3})
	var ret *ReturnedError
	if !errors.As(err, &ret) {
		t.Fatalf("publish after the exchange was deleted: %v, want *ReturnedError (declared again, unbound)", err)
	}
	ch, _, _ = c.Channel(ctx)
	if ch != nil {
		_ = ch.ExchangeDelete(x.Name, false, false)
		_ = ch.Close()
	}
}

// TestAckOnReceipt: a consumer with AckOnReceipt acks every delivery
// itself (the handler's own ack is a no-op): after it stops, nothing
// comes back to the queue.
func TestAckOnReceipt(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := QueueDecl{Name: uniq("aor")}
	const n = 300
	got := make(chan struct{}, n)
	cs := c.Consume(ConsumeSpec{
		Name: "test", Declare: Declarations{Queues: []QueueDecl{q}}, Queues: []string{q.Name}, AckOnReceipt: true,
	}, func(_ context.Context, d amqp.Delivery) {
		if err := d.Ack(false); err != nil {
			t.Errorf("handler's ack: %v", err)
		}
		got <- struct{}{}
	})
	<-cs.Ready()
	for i := range n {
		if err := c.Publish(ctx, Message{Key: q.Name, Body: fmt.Appendf(nil, `%d`, i)}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("not all delivered")
		}
	}
	if err := cs.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	ch, _, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	defer ch.QueueDelete(q.Name, false, false, false)
	st, err := ch.QueueDeclarePassive(q.Name, false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != 0 {
		t.Fatalf("%d messages back in the queue: not acked", st.Messages)
	}
}

// TestNackRetiresThePipe: a publish the broker nacks (a full queue that
// rejects publishes) leaves its shared channel: the channel closes, and
// the next publish goes out on a new one and arrives.
func TestNackRetiresThePipe(t *testing.T) {
	c := dialTest(t, testURL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, _, err := c.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	full, open := uniq("full"), uniq("open")
	if _, err := ch.QueueDeclare(full, false, true, false, false, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(open, false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	p, err := c.pub.pipe.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	closed := p.ch.NotifyClose(make(chan *amqp.Error, 1))
	if err := c.Publish(ctx, Message{Key: full, Body: []byte(`{}`)}); !errors.Is(err, ErrNacked) {
		t.Fatalf("publish to a full queue: %v, want ErrNacked", err)
	}
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("the nacked channel was not closed")
	}
	if err := c.Publish(ctx, Message{Key: open, Body: []byte(`{"after": "nack"}`), Mandatory: true}); err != nil {
		t.Fatalf("publish after the nack: %v", err)
	}
	if next, _ := c.pub.pipe.get(ctx); next == p {
		t.Fatal("the nacked pipe is still the current one")
	}
	d, ok, err := ch.Get(open, true)
	if err != nil || !ok || string(d.Body) != `{"after": "nack"}` {
		t.Fatalf("get after the nack: %v %v %s", ok, err, d.Body)
	}
}
