// Command loadgen is the second load generator of the oslohost benchmarks:
// a deliberately minimal oslo.messaging RPC caller with nothing but
// amqp091-go, to check that `oslohost bench` (built on the product's Go
// client) is not what limits a server's measured calls/s.
//
// It does what an oslo caller must do on the wire and nothing more: one
// connection, a reply queue consumed without acks, requests published from
// a byte template (only _msg_id and _unique_id change) to the control
// exchange with the call's timeout as expiration, without publisher
// confirms or mandatory; a reply is matched to its caller by the caller's
// number in its _msg_id, without a map or a lock. It measures with the same
// runner as `oslohost bench` (internal/bench: closed loop, exact
// percentiles) and prints the same JSON:
//
//	loadgen -topic b-ceiling -concurrency 64 -duration 10s -warmup 2s
//
// With -oslo it keeps what an oslo caller (and `oslohost bench`) does on
// the wire and nothing else: requests mandatory on confirm-mode channels,
// each call waiting for its publisher confirm, and replies acked on
// receipt (a burst with one multiple ack). That is the fair comparison for
// the product's client: the same broker work per call, the least client
// work.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/internal/bench"
	"github.com/oslohost/oslohost/oslo"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP URL of the broker")
	exchange := flag.String("exchange", oslo.DefaultControlExchange, "control exchange")
	topic := flag.String("topic", "", "topic of the RPC server (required)")
	method := flag.String("method", "echo", "method called with args {\"value\": PAYLOAD}")
	payload := flag.Int("payload-size", 100, "length in bytes of the value string")
	concurrency := flag.Int("concurrency", 1, "closed-loop callers")
	channels := flag.Int("channels", 2, "channels the callers publish on, in turn")
	duration := flag.Duration("duration", 10*time.Second, "measured time, after the warm-up")
	count := flag.Int("count", 0, "measured calls to make, instead of -duration")
	warmup := flag.Duration("warmup", time.Second, "time spent calling before measuring")
	timeout := flag.Duration("timeout", 10*time.Second, "how long each call waits for its reply")
	noFirst := flag.Bool("nofirst", false, "do not check with one call first that the server answers (to queue a backlog)")
	osloMode := flag.Bool("oslo", false, "keep an oslo caller's guarantees: requests published mandatory on confirm-mode channels, each call waiting for its confirm; replies acked on receipt (a burst with one multiple ack)")
	flag.Parse()
	if *topic == "" || *concurrency < 1 || *channels < 1 {
		fmt.Fprintln(os.Stderr, "loadgen: -topic is required; -concurrency and -channels must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := dial(*url, *channels, *concurrency, *osloMode)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
	defer g.conn.Close()
	g.exchange, g.key, g.timeout = *exchange, *topic, *timeout
	g.template = template(*method, *payload, g.replyQ)
	g.msgIDAt = bytes.Index(g.template, []byte(msgIDMarker))
	g.uniqAt = bytes.Index(g.template, []byte(uniqMarker))
	// One call first: the server must answer before measuring.
	if !*noFirst {
		if err := g.call(ctx, 0); err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: first call: %v\n", err)
			os.Exit(1)
		}
	}
	// A caller number (a reply slot) per call in flight: taken for the
	// call, put back after it; closed loop has at most -concurrency.
	slots := make(chan int, *concurrency)
	for i := range *concurrency {
		slots <- i
	}
	caller := func(ctx context.Context) error {
		w := <-slots
		defer func() { slots <- w }()
		return g.call(ctx, w)
	}
	cfg := bench.Config{Concurrency: *concurrency, Duration: *duration, Warmup: *warmup}
	if *count > 0 {
		cfg.Duration, cfg.Count = 0, *count
	}
	res, err := bench.Run(ctx, cfg, caller)
	if res == nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
	head, _ := json.Marshal(struct {
		Generator   string  `json:"generator"`
		Topic       string  `json:"topic"`
		Method      string  `json:"method"`
		PayloadSize int     `json:"payload_bytes"`
		Transports  int     `json:"transports"`
		Timeout     float64 `json:"timeout_s"`
	}{map[bool]string{false: "loadgen", true: "loadgen-oslo"}[*osloMode], *topic, *method, *payload, 1, timeout.Seconds()})
	body, _ := json.Marshal(res)
	out := append(head[:len(head)-1:len(head)-1], ',')
	out = append(out, body[1:]...)
	fmt.Println(string(out))
}

// gen is the connection, its reply queue and the callers' reply slots.
type gen struct {
	conn     *amqp.Connection
	chans    []*amqp.Channel
	replyQ   string
	exchange string
	key      string
	timeout  time.Duration
	template []byte
	msgIDAt  int // offsets of the ids in template
	uniqAt   int
	slots    []slot
	oslo     bool // confirms, mandatory, acked replies (-oslo)
}

// slot is one caller's: the sequence number of its call in flight and
// where its reply arrives.
type slot struct {
	seq     atomic.Uint64
	replies chan []byte
	timer   *time.Timer
}

func dial(url string, channels, callers int, osloMode bool) (*gen, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": "oslohost-bench-loadgen"}})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	g := &gen{conn: conn, slots: make([]slot, callers), oslo: osloMode}
	for i := range g.slots {
		g.slots[i].replies = make(chan []byte, 1)
		g.slots[i].timer = time.NewTimer(time.Hour)
		g.slots[i].timer.Stop()
	}
	for range channels {
		ch, err := conn.Channel()
		if err != nil {
			return nil, err
		}
		if osloMode {
			if err := ch.Confirm(false); err != nil {
				return nil, fmt.Errorf("confirm mode: %w", err)
			}
			// Returns are read (a returned call then times out), not matched.
			go func(r <-chan amqp.Return) {
				for range r {
				}
			}(ch.NotifyReturn(make(chan amqp.Return, 64)))
		}
		g.chans = append(g.chans, ch)
	}
	g.replyQ = "reply_" + randHex()
	// As oslo declares a reply queue: transient, auto-delete.
	if _, err := g.chans[0].QueueDeclare(g.replyQ, false, true, false, false, amqp.Table{"x-expires": int32(1800000)}); err != nil {
		return nil, fmt.Errorf("reply queue: %w", err)
	}
	d, err := g.chans[0].Consume(g.replyQ, "", !osloMode, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume replies: %w", err)
	}
	go g.route(d)
	return g, nil
}

// The _msg_id of a call is 16 hex digits of the caller number and 16 of
// its sequence number; _unique_id is random per call.
const (
	idLen       = 32
	msgIDMarker = "11111111111111111111111111111111"
	uniqMarker  = "22222222222222222222222222222222"
)

// template is the request as oslohost's client encodes it, with markers
// where the ids go.
func template(method string, n int, replyQ string) []byte {
	value := bytes.Repeat([]byte("x"), n)
	inner := fmt.Sprintf(`{"method":%q,"args":{"value":"%s"},"_msg_id":"%s","_reply_q":%q,"_timeout":null,"_unique_id":"%s"}`,
		method, value, msgIDMarker, replyQ, uniqMarker)
	env, _ := json.Marshal(map[string]string{"oslo.version": "2.0", "oslo.message": inner})
	return env
}

func (g *gen) call(ctx context.Context, w int) error {
	s := &g.slots[w]
	seq := s.seq.Add(1)
	body := make([]byte, len(g.template))
	copy(body, g.template)
	var id [16]byte
	putHex(id[:8], uint64(w))
	putHex(id[8:], seq)
	hex.Encode(body[g.msgIDAt:g.msgIDAt+idLen], id[:])
	_, _ = rand.Read(id[:])
	hex.Encode(body[g.uniqAt:g.uniqAt+idLen], id[:])
	ch := g.chans[w%len(g.chans)]
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, g.exchange, g.key, g.oslo, false, amqp.Publishing{
		ContentType: "application/json", ContentEncoding: "utf-8", DeliveryMode: amqp.Persistent,
		Expiration: strconv.FormatInt(g.timeout.Milliseconds(), 10), Body: body,
	})
	if err != nil {
		return err
	}
	if dc != nil { // -oslo: the call waits for its confirm, as an oslo caller does
		if ok, err := dc.WaitContext(ctx); err != nil || !ok {
			return errors.Join(errors.New("publish not confirmed"), err)
		}
	}
	s.timer.Reset(g.timeout)
	defer s.timer.Stop()
	for {
		select {
		case r := <-s.replies:
			got, ok := replySeq(r)
			if !ok || got != seq {
				continue // a late reply to an earlier call of this caller
			}
			if !bytes.Contains(r, []byte(`failure\": null`)) && !bytes.Contains(r, []byte(`failure\":null`)) {
				return errors.New("remote failure")
			}
			return nil
		case <-s.timer.C:
			return context.DeadlineExceeded
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// route hands each reply to the caller its _msg_id names.
func (g *gen) route(d <-chan amqp.Delivery) {
	for m := range d {
		w, ok := replyWorker(m.Body)
		if !ok || w >= uint64(len(g.slots)) {
			continue
		}
		select {
		case g.slots[w].replies <- m.Body:
		default: // its caller gave up on an earlier call
		}
		if g.oslo && len(d) == 0 { // -oslo: acked on receipt, a burst at once
			_ = m.Ack(true)
		}
	}
}

// replyID finds the 32 hex digits of _msg_id in a reply body.
func replyID(b []byte) ([]byte, bool) {
	i := bytes.Index(b, []byte(`_msg_id\"`))
	if i < 0 {
		return nil, false
	}
	b = b[i+len(`_msg_id\"`):]
	i = bytes.Index(b, []byte(`\"`))
	if i < 0 || len(b) < i+2+idLen {
		return nil, false
	}
	return b[i+2 : i+2+idLen], true
}

func replyWorker(b []byte) (uint64, bool) {
	id, ok := replyID(b)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(id[:16]), 16, 64)
	return v, err == nil
}

func replySeq(b []byte) (uint64, bool) {
	id, ok := replyID(b)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(string(id[16:]), 16, 64)
	return v, err == nil
}

func putHex(dst []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		dst[i] = byte(v)
		v >>= 8
	}
}

func randHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
