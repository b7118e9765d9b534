// Command floor measures, alone, the AMQP parts of one oslo call that no
// server can leave out, with nothing but amqp091-go: what a server spends
// to receive a request (consume it, ack it on receipt, as oslo does) and
// to send its reply (publish it mandatory on a confirm-mode channel and
// wait for the confirm), and what the broker spends on each. It is part of
// make bench-floor (bench/floor.sh), which adds the plugin hop and the
// ceilings' own CPU per call.
//
// Two phases on a fresh queue, each timed by this process's CPU time
// (getrusage) and the broker's (beam.smp's /proc/PID/stat):
//
//	publish  -concurrency goroutines publish -count messages of -size
//	         bytes, mandatory, to the default exchange, on one confirm-mode
//	         channel (as oslohost's reply pipe does), each waiting for its
//	         confirm before the next
//	consume  one consumer, prefetch -prefetch, takes them all back, acking
//	         each on receipt: alone (-multiple=false, oslo's server) or one
//	         multiple ack per burst
//
// It prints one JSON object: µs of CPU per message for each phase, this
// process's and the broker's.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/bench"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP URL of the broker")
	count := flag.Int("count", 50000, "messages")
	size := flag.Int("size", 300, "body bytes (an oslo reply envelope of a 100 B echo is ~250)")
	concurrency := flag.Int("concurrency", 64, "publishers, each waiting for its confirm")
	prefetch := flag.Int("prefetch", 64, "consumer prefetch (oslohost's default)")
	multiple := flag.Bool("multiple", false, "ack a burst with one multiple ack instead of each alone")
	flag.Parse()
	if err := run(*url, *count, *size, *concurrency, *prefetch, *multiple); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

type phase struct {
	Messages    int     `json:"messages"`
	Seconds     float64 `json:"seconds"`
	SelfUsPer   float64 `json:"self_us_per_msg"`
	BrokerUsPer float64 `json:"broker_us_per_msg"`
}

func run(url string, count, size, concurrency, prefetch int, multiple bool) error {
	conn, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return err
	}
	beam := beamPID()
	body := bytes.Repeat([]byte("x"), size)

	pub, err := measure(beam, count, func() error { return publish(conn, q.Name, body, count, concurrency) })
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	con, err := measure(beam, count, func() error { return consume(conn, q.Name, count, prefetch, multiple) })
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	out, _ := json.Marshal(map[string]any{
		"size": size, "concurrency": concurrency, "prefetch": prefetch, "multiple": multiple,
		"publish_confirm": pub, "consume_ack": con, "broker_found": beam != 0,
	})
	fmt.Println(string(out))
	return nil
}

func measure(beam, n int, f func() error) (phase, error) {
	s0, b0, t0 := selfCPU(), procCPU(beam), time.Now()
	if err := f(); err != nil {
		return phase{}, err
	}
	s1, b1, el := selfCPU(), procCPU(beam), time.Since(t0)
	return phase{
		Messages: n, Seconds: el.Seconds(),
		SelfUsPer:   float64((s1 - s0).Microseconds()) / float64(n),
		BrokerUsPer: float64((b1 - b0).Microseconds()) / float64(n),
	}, nil
}

// publish: concurrency goroutines share count publishes on one
// confirm-mode channel, each waiting for its confirm; a return is an error.
func publish(conn *amqp.Connection, key string, body []byte, count, concurrency int) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return err
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	var mu sync.Mutex
	left := count
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if left == 0 {
					mu.Unlock()
					return
				}
				left--
				dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", key, true, false, amqp.Publishing{
					ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: amqp.Persistent,
					Headers: amqp.Table{}, Body: body,
				})
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
				if !dc.Wait() {
					errs <- fmt.Errorf("nacked")
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	case r := <-returns:
		return fmt.Errorf("returned: %s", r.ReplyText)
	default:
		return nil
	}
}

// consume takes count messages back, acking each on receipt (or a burst
// with one multiple ack).
func consume(conn *amqp.Connection, queue string, count, prefetch int, multiple bool) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return err
	}
	ds, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return err
	}
	pending := uint64(0)
	for n := 0; n < count; n++ {
		var d amqp.Delivery
		select {
		case d = <-ds:
		default:
			if pending != 0 {
				if err := ch.Ack(pending, true); err != nil {
					return err
				}
				pending = 0
			}
			d = <-ds
		}
		if !multiple {
			if err := d.Ack(false); err != nil {
				return err
			}
			continue
		}
		pending = d.DeliveryTag
	}
	if pending != 0 {
		return ch.Ack(pending, true)
	}
	return nil
}

func selfCPU() time.Duration {
	d, _ := bench.SelfCPU()
	return d
}

// beamPID is the process id of the broker's Erlang VM: $FLOOR_BROKER_PID,
// else the oldest beam.smp (other brokers, a test cluster's, start later;
// bench/run.sh picks the same); 0 if none (the broker runs elsewhere).
func beamPID() int {
	if pid, err := strconv.Atoi(os.Getenv("FLOOR_BROKER_PID")); err == nil {
		return pid
	}
	best := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, d := range dirs {
		if b, err := os.ReadFile(d); err == nil && strings.TrimSpace(string(b)) == "beam.smp" {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
			if best == 0 || pid < best {
				best = pid
			}
		}
	}
	return best
}

// procCPU is the user and system CPU time of process pid (0 if none, or
// not readable: the broker runs elsewhere).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	d, _ := bench.ProcessCPU(pid)
	return d
}
