package intake

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
)

// rig is an intake of requests on a Memory, recording what it did.
type rig struct {
	src  *Memory
	in   *Intake[*oslo.Request]
	dups *dedup.Window
	logs *syncBuffer

	mu       sync.Mutex
	handled  []string // unique ids, in order
	refused  []refusal
	verdicts []Verdict
	verdict  func(n int) Verdict // the handler's answer to its n-th call (0-based)
}

type refusal struct {
	err  error
	body []byte
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRig(t *testing.T, policy Policy, exec executors.Executor, edit func(*Config[*oslo.Request])) *rig {
	t.Helper()
	r := &rig{src: NewMemory(), dups: dedup.New(time.Minute, 100), logs: &syncBuffer{}}
	if exec == nil {
		exec = executors.NewBlocking()
	}
	cfg := Config[*oslo.Request]{
		Source:      r.src,
		Policy:      policy,
		MaxBodySize: 1024,
		Decode:      func(_ *amqp.Delivery, body []byte) (*oslo.Request, error) { return oslo.DecodeRequest(body) },
		UniqueID:    func(m *oslo.Request) string { return m.UniqueID },
		Duplicates:  r.dups,
		Refused: func(_ *amqp.Delivery, body []byte, err error) {
			r.mu.Lock()
			r.refused = append(r.refused, refusal{err, body})
			r.mu.Unlock()
		},
		Handle: func(_ context.Context, m *Msg[*oslo.Request]) Verdict {
			r.mu.Lock()
			defer r.mu.Unlock()
			n := len(r.handled)
			r.handled = append(r.handled, m.Message.UniqueID)
			if r.verdict != nil {
				return r.verdict(n)
			}
			return Handled
		},
		Observe: func(v Verdict) {
			r.mu.Lock()
			r.verdicts = append(r.verdicts, v)
			r.mu.Unlock()
		},
		Describe: func(m *oslo.Request) []any { return []any{"method", m.Method} },
		Executor: exec,
		Logger:   hclog.New(&hclog.LoggerOptions{Output: r.logs, Level: hclog.Debug}),
	}
	if edit != nil {
		edit(&cfg)
	}
	in, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.in = in
	if err := in.Start(context.Background(), specFor("test")); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.in.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) handledIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.handled...)
}

func (r *rig) refusals() []refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]refusal(nil), r.refused...)
}

func (r *rig) observed() []Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Verdict(nil), r.verdicts...)
}

// waitSettled waits for n settlements, failing after 5 s.
func waitSettled(t *testing.T, src *Memory, n int) []Settlement {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := src.WaitSettled(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func call(uid string) *oslo.Request {
	return &oslo.Request{Method: "echo", Args: []byte(`{}`), MsgID: "m-" + uid, ReplyQ: "reply_" + uid, UniqueID: uid}
}

func jsonPub(body []byte) amqp.Publishing {
	return amqp.Publishing{ContentType: "application/json", ContentEncoding: "utf-8", Body: body}
}

func zlibBytes(b []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return z.Bytes()
}

// TestDeliveryOutcomes: each kind of delivery gets the outcome the server
// and the listener gave it before the intake, under both policies. A good
// message is published after each case; its settlement shows the case's
// own was dealt with first (a Blocking executor keeps the order).
func TestDeliveryOutcomes(t *testing.T) {
	big := call("big")
	big.Args = []byte(`{"pad": "` + strings.Repeat("x", 2000) + `"}`)
	tests := []struct {
		name    string
		pub     amqp.Publishing
		seed    bool   // the unique id is in the window already
		settle  string // the case's settlement
		handled bool
		// refusal: the error class, and whether the body (for a failure
		// reply) is there
		refusedIs   error
		refusedBody bool
		log         string
	}{
		{name: "good call", pub: jsonPub(call("u-good").Encode()), settle: "ack", handled: true},
		{name: "zlib compressed", pub: amqp.Publishing{ContentType: "application/json",
			Headers: amqp.Table{"compression": oslo.CompressionGzip}, Body: zlibBytes(call("u-zlib").Encode())},
			settle: "ack", handled: true},
		{name: "too large", pub: jsonPub(big.Encode()), settle: "reject", refusedIs: &TooLargeError{}, refusedBody: true},
		{name: "unknown compression", pub: amqp.Publishing{ContentType: "application/json",
			Headers: amqp.Table{"compression": "application/x-lzma"}, Body: []byte("x")},
			settle: "reject", refusedIs: oslo.ErrCompression},
		{name: "bad zlib data", pub: amqp.Publishing{ContentType: "application/json",
			Headers: amqp.Table{"compression": oslo.CompressionGzip}, Body: []byte("not zlib")},
			settle: "reject", refusedIs: oslo.ErrMalformed},
		{name: "wrong content type", pub: amqp.Publishing{ContentType: "text/plain", Body: call("u-ct").Encode()},
			settle: "reject", refusedIs: oslo.ErrMalformed, refusedBody: true},
		{name: "malformed JSON", pub: jsonPub([]byte(`{"oslo.version": "2.0", "oslo.message": "{\"method\": "}`)),
			settle: "reject", refusedIs: oslo.ErrMalformed, refusedBody: true},
		{name: "not JSON at all", pub: jsonPub([]byte("not json")), settle: "reject", refusedIs: oslo.ErrMalformed, refusedBody: true},
		{name: "unsupported envelope", pub: jsonPub([]byte(`{"oslo.version": "3.0", "oslo.message": "{}"}`)),
			settle: "reject", refusedIs: oslo.ErrEnvelopeVersion, refusedBody: true},
		{name: "duplicate", pub: jsonPub(call("u-dup").Encode()), seed: true, settle: "ack",
			log: "ignoring duplicate message: unique_id=u-dup method=echo"},
	}
	for _, policy := range []Policy{AckOnReceipt, AckAfterHandling} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%d/%s", policy, tt.name), func(t *testing.T) {
				r := newRig(t, policy, nil, nil)
				if tt.seed {
					r.dups.Seen("u-dup", 0)
				}
				r.src.Publish("test", tt.pub)
				r.src.Publish("test", jsonPub(call("u-next").Encode()))
				got := waitSettled(t, r.src, 2)
				if got[0].String() != tt.settle || got[1].String() != "ack" {
					t.Fatalf("settlements %v, want [%s ack]", got, tt.settle)
				}
				waitHandled(t, r, "u-next")
				ids := r.handledIDs()
				if (len(ids) == 2) != tt.handled {
					t.Errorf("handled %v; the case's message handled: want %v", ids, tt.handled)
				}
				refs := r.refusals()
				switch {
				case tt.refusedIs == nil && len(refs) > 0:
					t.Errorf("refused: %v", refs[0].err)
				case tt.refusedIs != nil && len(refs) != 1:
					t.Errorf("%d refusals, want 1", len(refs))
				case tt.refusedIs != nil:
					var tl *TooLargeError
					if isTL := errors.As(tt.refusedIs, &tl); isTL && !errors.As(refs[0].err, &tl) || !isTL && !errors.Is(refs[0].err, tt.refusedIs) {
						t.Errorf("refused with %v, want %T %v", refs[0].err, tt.refusedIs, tt.refusedIs)
					}
					if (refs[0].body != nil) != tt.refusedBody {
						t.Errorf("refusal body %q, want one: %v", refs[0].body, tt.refusedBody)
					}
				}
				if tt.refusedIs != nil && policy == AckAfterHandling {
					if obs := r.observed(); len(obs) == 0 || obs[0] != Dropped {
						t.Errorf("observed %v, want dropped first", obs)
					}
				}
				if tt.log != "" && !strings.Contains(r.logs.String(), tt.log) {
					t.Errorf("log lacks %q:\n%s", tt.log, r.logs.String())
				}
				r.shutdown(t) // the record follows the ack
				if !r.dups.Contains("u-next") {
					t.Error("the handled message's unique id was not recorded")
				}
			})
		}
	}
}

func waitHandled(t *testing.T, r *rig, uid string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, id := range r.handledIDs() {
			if id == uid {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s not handled; handled %v", uid, r.handledIDs())
}

// TestRefusedDefaultLog: without a Refused hook the intake logs the
// refusal itself.
func TestRefusedDefaultLog(t *testing.T) {
	r := newRig(t, AckAfterHandling, nil, func(c *Config[*oslo.Request]) {
		c.Refused = nil
		c.Noun = "notification"
	})
	r.src.Publish("test", jsonPub([]byte("not json")))
	waitSettled(t, r.src, 1)
	r.shutdown(t)
	if !strings.Contains(r.logs.String(), "dropping malformed notification") {
		t.Errorf("log:\n%s", r.logs.String())
	}
}

// TestAckAfterHandlingVerdicts: a Requeued message comes back redelivered
// and is not recorded until handled; Dropped is acked and recorded.
func TestAckAfterHandlingVerdicts(t *testing.T) {
	r := newRig(t, AckAfterHandling, nil, nil)
	r.verdict = func(n int) Verdict { return []Verdict{Requeued, Handled, Dropped}[n] }
	r.src.Publish("test", jsonPub(call("u-1").Encode()))
	got := waitSettled(t, r.src, 2)
	if got[0].String() != "reject+requeue" || got[1].String() != "ack" {
		t.Fatalf("settlements %v", got)
	}
	r.src.Publish("test", jsonPub(call("u-2").Encode()))
	got = waitSettled(t, r.src, 3)
	r.shutdown(t)
	if got[2].String() != "ack" || !r.dups.Contains("u-2") || !r.dups.Contains("u-1") {
		t.Errorf("settlements %v, recorded u-1 %v u-2 %v", got, r.dups.Contains("u-1"), r.dups.Contains("u-2"))
	}
	if ids := r.handledIDs(); len(ids) != 3 || ids[0] != "u-1" || ids[1] != "u-1" {
		t.Errorf("handled %v, want u-1 twice then u-2", ids)
	}
	if obs := r.observed(); fmt.Sprint(obs) != "[requeued handled dropped]" {
		t.Errorf("observed %v", obs)
	}
}

// stepExecutor hands its tasks to the test, which runs them when it wants.
type stepExecutor struct{ tasks chan func() }

func newStepExecutor() *stepExecutor { return &stepExecutor{tasks: make(chan func(), 16)} }

func (e *stepExecutor) Submit(ctx context.Context, task func()) error {
	select {
	case e.tasks <- task:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (e *stepExecutor) Capacity() int                  { return 1 }
func (e *stepExecutor) Shutdown(context.Context) error { return nil }

func (e *stepExecutor) next(t *testing.T) func() {
	t.Helper()
	select {
	case task := <-e.tasks:
		return task
	case <-time.After(5 * time.Second):
		t.Fatal("no task within 5s")
		return nil
	}
}

// TestAckOnReceiptOrder: the task acks before it records the unique id
// and handles; a failed ack (the channel went away: failover) discards
// the request unrecorded, so the redelivered copy runs; two copies taken
// before either ran run once.
func TestAckOnReceiptOrder(t *testing.T) {
	exec := newStepExecutor()
	r := newRig(t, AckOnReceipt, exec, nil)
	defer r.shutdown(t)

	r.src.Publish("test", jsonPub(call("u-fo").Encode()))
	first := exec.next(t)
	if len(r.src.Settlements()) != 0 || r.dups.Contains("u-fo") {
		t.Fatal("acked or recorded before the task ran")
	}
	r.src.Failover() // the delivery goes back; its ack will fail
	first()
	if len(r.handledIDs()) != 0 || r.dups.Contains("u-fo") {
		t.Fatalf("a request whose ack failed was handled (%v) or recorded (%v)", r.handledIDs(), r.dups.Contains("u-fo"))
	}
	if !strings.Contains(r.logs.String(), "ack failed, message discarded") {
		t.Errorf("log:\n%s", r.logs.String())
	}
	exec.next(t)() // the redelivered copy
	if ids := r.handledIDs(); len(ids) != 1 || ids[0] != "u-fo" {
		t.Fatalf("handled %v after redelivery", ids)
	}

	// Two copies pass the receipt check before the first runs.
	r.src.Publish("test", jsonPub(call("u-twice").Encode()))
	r.src.Publish("test", jsonPub(call("u-twice").Encode()))
	a, b := exec.next(t), exec.next(t)
	a()
	b()
	if ids := r.handledIDs(); len(ids) != 2 {
		t.Fatalf("handled %v: the second copy ran", ids)
	}
	if got := waitSettled(t, r.src, 3); fmt.Sprint(got) != "[ack ack ack]" {
		t.Errorf("settlements %v: both copies are acked", got)
	}
}

// TestAckAfterHandlingShutdownHolds: Shutdown waits for the running
// handler, whose ack still reaches the channel; a delivery that arrives
// meanwhile is held, then given back (not handled).
func TestAckAfterHandlingShutdownHolds(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	r := newRig(t, AckAfterHandling, executors.NewPool(4), func(c *Config[*oslo.Request]) {
		inner := c.Handle
		c.Handle = func(ctx context.Context, m *Msg[*oslo.Request]) Verdict {
			started <- struct{}{}
			<-release
			return inner(ctx, m)
		}
	})
	r.src.Publish("test", jsonPub(call("u-run").Encode()))
	<-started
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- r.in.Shutdown(ctx)
	}()
	waitStopping(t, r.in)
	r.src.Publish("test", jsonPub(call("u-late").Encode()))
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned while a handler ran: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if n := len(r.src.Settlements()); n != 0 {
		t.Fatalf("%d settlements before the handler returned", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := r.src.Settlements()
	if fmt.Sprint(got) != "[ack nack+requeue]" || got[0].Body == nil {
		t.Errorf("settlements %v, want the running one acked, the late one given back", got)
	}
	if ids := r.handledIDs(); len(ids) != 1 || r.src.Len() != 1 {
		t.Errorf("handled %v, %d left in the queue", ids, r.src.Len())
	}
	if err := r.in.Shutdown(context.Background()); err != nil { // idempotent
		t.Fatal(err)
	}
}

func waitStopping[M any](t *testing.T, in *Intake[M]) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		in.mu.Lock()
		s := in.stopping
		in.mu.Unlock()
		if s {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("not stopping")
}

// TestShutdownGivesUp: when the drain ctx ends, the handlers' ctx is
// cancelled, under both policies.
func TestShutdownGivesUp(t *testing.T) {
	for _, policy := range []Policy{AckOnReceipt, AckAfterHandling} {
		t.Run(fmt.Sprint(policy), func(t *testing.T) {
			started := make(chan struct{}, 1)
			r := newRig(t, policy, executors.NewPool(2), func(c *Config[*oslo.Request]) {
				c.Handle = func(ctx context.Context, m *Msg[*oslo.Request]) Verdict {
					started <- struct{}{}
					<-ctx.Done()
					return Requeued
				}
			})
			r.src.Publish("test", jsonPub(call("u-stuck").Encode()))
			<-started
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := r.in.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v, want deadline exceeded", err)
			}
		})
	}
}

// TestBatchVerdicts: a full batch goes to Batch.Handle as one task and
// each message is settled by its verdict; Shutdown flushes a partial one.
func TestBatchVerdicts(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	r := newRig(t, AckAfterHandling, nil, func(c *Config[*oslo.Request]) {
		c.Handle = nil
		c.Batch = &Batch[*oslo.Request]{Size: 3, Handle: func(_ context.Context, b []*Msg[*oslo.Request]) []Verdict {
			mu.Lock()
			sizes = append(sizes, len(b))
			mu.Unlock()
			if len(b) == 3 {
				return []Verdict{Handled, Requeued, Dropped}
			}
			return []Verdict{Handled}
		}}
	})
	for _, id := range []string{"b1", "b2", "b3"} {
		r.src.Publish("test", jsonPub(call(id).Encode()))
	}
	got := waitSettled(t, r.src, 3)
	if fmt.Sprint(got) != "[ack reject+requeue ack]" {
		t.Fatalf("settlements %v", got)
	}
	// b2 comes back and waits in a batch of one until Shutdown.
	r.shutdown(t)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(sizes) != "[3 1]" {
		t.Errorf("batches %v, want [3 1]", sizes)
	}
	if got := r.src.Settlements(); len(got) != 4 || got[3].String() != "ack" {
		t.Errorf("settlements %v", got)
	}
}

// TestScreen: a message the screen keeps back is acked and recorded
// without reaching the handler.
func TestScreen(t *testing.T) {
	r := newRig(t, AckAfterHandling, nil, func(c *Config[*oslo.Request]) {
		c.Screen = func(_ *amqp.Delivery, m *oslo.Request) bool { return m.Method != "skip" }
	})
	skip := call("u-skip")
	skip.Method = "skip"
	r.src.Publish("test", jsonPub(skip.Encode()))
	r.src.Publish("test", jsonPub(call("u-take").Encode()))
	got := waitSettled(t, r.src, 2)
	r.shutdown(t)
	if fmt.Sprint(got) != "[ack ack]" || !r.dups.Contains("u-skip") {
		t.Errorf("settlements %v, recorded %v", got, r.dups.Contains("u-skip"))
	}
	if ids := r.handledIDs(); len(ids) != 1 || ids[0] != "u-take" {
		t.Errorf("handled %v", ids)
	}
}

// plainIntake is an intake of requests on src that handles each at once.
func plainIntake(t *testing.T, src Source) *Intake[*oslo.Request] {
	t.Helper()
	in, err := New(Config[*oslo.Request]{Source: src, Executor: executors.NewBlocking(),
		Decode:   func(_ *amqp.Delivery, b []byte) (*oslo.Request, error) { return oslo.DecodeRequest(b) },
		UniqueID: func(m *oslo.Request) string { return m.UniqueID },
		Handle:   func(context.Context, *Msg[*oslo.Request]) Verdict { return Handled }})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestStartFails: a consumer that fails for good fails Start; a second
// Start is refused.
func TestStartFails(t *testing.T) {
	src := NewMemory()
	refused := errors.New("406 PRECONDITION_FAILED")
	src.FailNext(refused)
	in := plainIntake(t, src)
	if err := in.Start(context.Background(), specFor("x")); !errors.Is(err, refused) {
		t.Fatalf("Start = %v", err)
	}
	if err := in.Start(context.Background(), specFor("x")); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start = %v", err)
	}
	if err := in.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestState: the intake reports its consumer's state, from before Start to
// after Shutdown, and a start that failed for good as failed, with why.
func TestState(t *testing.T) {
	in := plainIntake(t, NewMemory())
	if st := in.State().State; st != rabbit.ConsumerStarting {
		t.Errorf("before Start: %s", st)
	}
	if err := in.Start(context.Background(), specFor("x")); err != nil {
		t.Fatal(err)
	}
	if st := in.State(); !st.Ready() {
		t.Errorf("started: %s", st.State)
	}
	if err := in.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := in.State().State; st != rabbit.ConsumerStopped {
		t.Errorf("after Shutdown: %s", st)
	}

	src := NewMemory()
	refused := errors.New("406 PRECONDITION_FAILED")
	src.FailNext(refused)
	in = plainIntake(t, src)
	_ = in.Start(context.Background(), specFor("x"))
	if st := in.State(); st.State != rabbit.ConsumerFailed || !errors.Is(st.LastError, refused) {
		t.Errorf("failed start: %s, %v", st.State, st.LastError)
	}
	_ = in.Shutdown(context.Background())
}
