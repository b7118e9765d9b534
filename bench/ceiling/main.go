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
// publisher confirms, acking requests in batches. Any method name is
// answered alike, so `oslohost bench` works against it unchanged:
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
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ackBatch is how many requests are acked at once at most (multiple=true);
// fewer when no more requests are waiting.
const ackBatch = 32

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP URL of the broker")
	exchange := flag.String("exchange", "openstack", "control exchange (topic)")
	topic := flag.String("topic", "", "topic to serve (required)")
	server := flag.String("server", "ceiling", "server name: also consumes topic.server")
	channels := flag.Int("channels", runtime.NumCPU(), "consumer channels, each with its own goroutine")
	prefetch := flag.Int("prefetch", 128, "prefetch count of each channel")
	flag.Parse()
	if *topic == "" || *channels < 1 || *prefetch < 1 {
		fmt.Fprintln(os.Stderr, "ceiling: -topic is required; -channels and -prefetch must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, *exchange, *topic, *server, *channels, *prefetch); err != nil {
		fmt.Fprintf(os.Stderr, "ceiling: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, exchange, topic, server string, channels, prefetch int) error {
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": "oslohost-bench-ceiling"}})
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
		wg.Go(func() { errs <- serve(ch, merged) })
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

// serve answers the requests of one channel, acking them in batches.
func serve(ch *amqp.Channel, deliveries <-chan amqp.Delivery) error {
	var last uint64
	pending := 0
	flush := func() error {
		if pending == 0 {
			return nil
		}
		pending = 0
		return ch.Ack(last, true)
	}
	var buf []byte
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case d, ok = <-deliveries:
		default:
			if err := flush(); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
			d, ok = <-deliveries
		}
		if !ok {
			return nil
		}
		// Acking with multiple=true may ack a request of the other queue
		// still waiting in the merged buffer: harmless here, it is answered
		// all the same (unless the process dies first).
		if d.DeliveryTag > last {
			last = d.DeliveryTag
		}
		pending++
		var replyQ string
		buf, replyQ = reply(buf[:0], d.Body)
		if replyQ != "" {
			err := ch.Publish("", replyQ, false, false, amqp.Publishing{
				ContentType: "application/json", ContentEncoding: "utf-8", Body: buf,
			})
			if err != nil {
				return fmt.Errorf("publish reply: %w", err)
			}
		}
		if pending >= ackBatch {
			if err := flush(); err != nil {
				return fmt.Errorf("ack: %w", err)
			}
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
