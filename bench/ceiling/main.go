// Command ceiling is the broker ceiling of the oslohost benchmarks: the
// fastest oslo.messaging RPC "echo" server one can write over the same
// RabbitMQ, with nothing but amqp091-go.
//
// It declares what an oslo RPC server declares for a topic (the topic
// exchange, a queue named topic and one named topic.server, bound by those
// keys), consumes both on a few channels with a large prefetch, and answers
// every call at once: it reads only _msg_id, _reply_q and args.value of the
// request and publishes
//
//	{"oslo.version": "2.0", "oslo.message": "{\"result\": <args.value>, \"failure\": null, \"ending\": true, \"_msg_id\": \"…\"}"}
//
// to the default exchange with the reply queue as routing key, without
// publisher confirms, acking requests in batches; the acks and replies of
// a burst of requests go out in one write. Any method name is
// answered alike, so `oslohost bench` works against it unchanged.
//
// With -oslo it keeps what an oslo.messaging server does on the wire, and
// only that: every request is acked on its own as it is received (no
// multiple), and every reply is published mandatory on a channel in
// confirm mode (the confirms and returns are read, not waited for). That
// is the ceiling for a server with oslo's guarantees; the bare one is the
// broker's:
//
//	go run ./bench/ceiling -topic b-ceiling &
//	oslohost bench --topic b-ceiling --concurrency 64
//
// It prints READY on stdout once it consumes and runs until SIGINT or
// SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/oslo"
)

// ackBatch is how many requests are acked at once at most (multiple=true);
// fewer when no more requests are waiting.
const ackBatch = 32

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP URL of the broker")
	exchange := flag.String("exchange", oslo.DefaultControlExchange, "control exchange (topic)")
	topic := flag.String("topic", "", "topic to serve (required)")
	server := flag.String("server", "ceiling", "server name: also consumes topic.server")
	channels := flag.Int("channels", runtime.NumCPU(), "consumer channels, each with its own goroutine")
	prefetch := flag.Int("prefetch", 128, "prefetch count of each channel")
	osloMode := flag.Bool("oslo", false, "ack each request on receipt, publish replies mandatory with confirms")
	flag.Parse()
	if *topic == "" || *channels < 1 || *prefetch < 1 {
		fmt.Fprintln(os.Stderr, "ceiling: -topic is required; -channels and -prefetch must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, *exchange, *topic, *server, *channels, *prefetch, *osloMode); err != nil {
		fmt.Fprintf(os.Stderr, "ceiling: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, exchange, topic, server string, channels, prefetch int, osloMode bool) error {
	var cc *corkConn
	conn, err := amqp.DialConfig(url, amqp.Config{
		Properties: amqp.Table{"connection_name": "oslohost-bench-ceiling"},
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := net.DialTimeout(network, addr, 10*time.Second)
			if err != nil {
				return nil, err
			}
			cc = &corkConn{Conn: c}
			return cc, nil
		},
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	queues := []string{topic, topic + "." + server}
	if err := declare(conn, exchange, queues); err != nil {
		return err
	}
	errs := make(chan error, channels)
	var wg sync.WaitGroup
	for i := range channels {
		ch, err := conn.Channel()
		if err != nil {
			return fmt.Errorf("channel: %w", err)
		}
		if err := ch.Qos(prefetch, 0, false); err != nil {
			return fmt.Errorf("qos: %w", err)
		}
		if osloMode {
			if err := confirmMode(ch); err != nil {
				return err
			}
		}
		// Both queues feed one Go channel: a consumer each, merged.
		merged := make(chan amqp.Delivery, prefetch)
		var feeders sync.WaitGroup
		for _, q := range queues {
			d, err := ch.Consume(q, fmt.Sprintf("ceiling-%d-%s", i, q), false, false, false, false, nil)
			if err != nil {
				return fmt.Errorf("consume %q: %w", q, err)
			}
			feeders.Go(func() {
				for m := range d {
					merged <- m
				}
			})
		}
		go func() { feeders.Wait(); close(merged) }()
		wg.Go(func() { errs <- serve(ch, cc, merged, osloMode) })
	}
	fmt.Println("READY")
	fmt.Fprintf(os.Stderr, "ceiling: serving topic %s (and %s.%s) on %d channels, prefetch %d\n", topic, topic, server, channels, prefetch)
	select {
	case <-ctx.Done():
		_ = conn.Close()
		wg.Wait()
		return nil
	case err := <-errs:
		return err
	case err := <-conn.NotifyClose(make(chan *amqp.Error, 1)):
		return fmt.Errorf("connection closed: %v", err)
	}
}

// declare declares the exchange and queues as oslo.messaging does by
// default (not durable, not auto-delete), so they match a Python or
// oslohost server's declarations.
func declare(conn *amqp.Connection, exchange string, queues []string) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, false, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %q: %w", exchange, err)
	}
	for _, q := range queues {
		if _, err := ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %q: %w", q, err)
		}
		if err := ch.QueueBind(q, q, exchange, false, nil); err != nil {
			return fmt.Errorf("bind queue %q: %w", q, err)
		}
	}
	return nil
}

// confirmMode puts ch in confirm mode and drains its confirms and
// returns, as an oslo server's publisher receives them.
func confirmMode(ch *amqp.Channel) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
	returns := ch.NotifyReturn(make(chan amqp.Return, 128))
	go func() {
		for range confirms {
		}
	}()
	go func() {
		for range returns {
		}
	}()
	return nil
}

// serve answers the requests of one channel in bursts: it takes what has
// arrived (up to ackBatch), acks it with one basic.ack (multiple), before
// the replies with osloMode (ack on receipt) or after them, and publishes
// the replies (mandatory with osloMode), all in one write to the socket.
func serve(ch *amqp.Channel, w *corkConn, deliveries <-chan amqp.Delivery, osloMode bool) error {
	var buf []byte
	batch := make([]amqp.Delivery, 0, ackBatch)
	for {
		d, ok := <-deliveries
		if !ok {
			return nil
		}
		batch = append(batch[:0], d)
	drain:
		for len(batch) < ackBatch {
			select {
			case d, ok := <-deliveries:
				if !ok {
					break drain
				}
				batch = append(batch, d)
			default:
				break drain
			}
		}
		// Acking with multiple=true may ack a request of the other queue
		// still waiting in the merged buffer: harmless here, it is answered
		// all the same (unless the process dies first).
		var last uint64
		for _, d := range batch {
			last = max(last, d.DeliveryTag)
		}
		w.cork()
		if osloMode {
			if err := ch.Ack(last, true); err != nil {
				w.uncork()
				return fmt.Errorf("ack: %w", err)
			}
		}
		for _, d := range batch {
			var replyQ string
			buf, replyQ = reply(buf[:0], d.Body)
			if replyQ == "" {
				continue
			}
			err := ch.Publish("", replyQ, osloMode, false, amqp.Publishing{
				ContentType: "application/json", ContentEncoding: "utf-8", Body: buf,
			})
			if err != nil {
				w.uncork()
				return fmt.Errorf("publish reply: %w", err)
			}
		}
		if !osloMode {
			if err := ch.Ack(last, true); err != nil {
				w.uncork()
				return fmt.Errorf("ack: %w", err)
			}
		}
		w.uncork()
	}
}

// corkConn is the connection's socket; between cork and the last uncork
// what the client library writes is kept and then written at once, so a
// burst of acks and replies costs one system call.
type corkConn struct {
	net.Conn
	mu    sync.Mutex
	corks int
	buf   []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corks > 0 {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corks++
	c.mu.Unlock()
}

func (c *corkConn) uncork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corks--; c.corks == 0 && len(c.buf) > 0 {
		_, err := c.Conn.Write(c.buf)
		c.buf = c.buf[:0]
		if err != nil {
			_ = c.Conn.Close() // the library's reader sees the connection die
		}
	}
}

// request is what the ceiling reads of an oslo request.
type request struct {
	MsgID  string `json:"_msg_id"`
	ReplyQ string `json:"_reply_q"`
	Args   struct {
		Value json.RawMessage `json:"value"`
	} `json:"args"`
}

// reply appends the reply to body to buf and returns it with the reply
// queue; "" for a cast or a message it cannot read (acked and dropped).
func reply(buf, body []byte) ([]byte, string) {
	var env struct {
		Msg string `json:"oslo.message"`
	}
	if json.Unmarshal(body, &env) != nil {
		return buf, ""
	}
	var req request
	if json.Unmarshal([]byte(env.Msg), &req) != nil || req.MsgID == "" || req.ReplyQ == "" {
		return buf, ""
	}
	value := req.Args.Value
	if len(value) == 0 {
		value = json.RawMessage("null")
	}
	inner := make([]byte, 0, len(value)+128)
	inner = append(inner, `{"result": `...)
	inner = append(inner, value...)
	inner = append(inner, `, "failure": null, "ending": true, "_msg_id": `...)
	inner = appendJSONString(inner, req.MsgID)
	inner = append(inner, '}')
	buf = append(buf, `{"oslo.version": "2.0", "oslo.message": `...)
	buf = appendJSONString(buf, string(inner))
	return append(buf, '}'), req.ReplyQ
}

// appendJSONString appends s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(buf, b...)
}
