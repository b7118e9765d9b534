// Command faulty is an endpoint plugin that misbehaves on request, for the
// host's end-to-end tests: it panics, hangs past any deadline, or exits;
// builds differ by version and by a start-up mode set with -ldflags:
//
//	-X main.version=v2          what Version answers
//	-X main.mode=exit-at-start  exits before the handshake
//	-X main.mode=bad-config     its configure hook fails
//	-X main.mode=crash-later    exits 1 s after it started serving
//	-X main.mode=crash-quiet    exits 1 s after it started serving, at a
//	                            quiet moment: no Ok/Version call running
//	                            and none ended for 20 ms (so, as far as the
//	                            plugin can tell, no call is lost)
//	-X main.mode=notify-only    serves the notification handler only, no endpoint
//	-X main.mode=bad-signature  has an RPC method of a shape the SDK refuses
//	-X main.mode=stdout-chatter prints a line on stdout before it serves
//
// Relay and Announce reach the broker through the host (sdk.Host): an
// outgoing call to another server, and a notification.
//
// Record appends its argument id to the file named by $JOURNAL, one line
// per execution, so that a test can count how often each call ran.
//
// Its notification handler "journal" appends each notification's
// message_id to the file named by $JOURNAL; a payload {"crash": true} kills
// the process the first time it is seen (a marker file remembers).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/oslohost/oslohost/plugin/sdk"
)

var (
	version = "v1"
	mode    = ""
)

type faulty struct{}

// Configure fails in bad-config builds.
func (faulty) Configure(context.Context, sdk.Config) error {
	if mode == "bad-config" {
		return errors.New("this build refuses every configuration")
	}
	return nil
}

// Ok answers "ok".
func (faulty) Ok(context.Context) (string, error) {
	defer activity.enter()()
	return "ok", nil
}

// Version answers the build's version.
func (faulty) Version(context.Context) (string, error) {
	defer activity.enter()()
	return version, nil
}

// tracker counts the Ok and Version calls running, for crash-quiet.
type tracker struct {
	sync.Mutex
	inflight int
	last     time.Time // when the last call ended
}

var activity = &tracker{last: time.Now()}

// enter counts a call and returns the func that ends it.
func (t *tracker) enter() func() {
	t.Lock()
	t.inflight++
	t.Unlock()
	return func() {
		t.Lock()
		t.inflight--
		t.last = time.Now()
		t.Unlock()
	}
}

// exitWhenQuiet exits at the first moment no call runs and none ended for
// 20 ms, holding the lock so that no call starts meanwhile.
func (t *tracker) exitWhenQuiet(code int) {
	for {
		t.Lock()
		if t.inflight == 0 && time.Since(t.last) >= 20*time.Millisecond {
			os.Exit(code)
		}
		t.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// Sleep sleeps (honouring the deadline) and says which build did.
func (faulty) Sleep(ctx context.Context, a struct {
	Seconds float64 `json:"seconds"`
}) (string, error) {
	select {
	case <-time.After(time.Duration(a.Seconds * float64(time.Second))):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return fmt.Sprintf("slept on %s", version), nil
}

// Panic panics inside the method.
func (faulty) Panic(context.Context) (string, error) { panic("boom") }

// Hang sleeps for the given seconds, ignoring the call's deadline.
func (faulty) Hang(_ context.Context, a struct {
	Seconds float64 `json:"seconds"`
}) (string, error) {
	time.Sleep(time.Duration(a.Seconds * float64(time.Second)))
	return "woke up", nil
}

// Exit kills the plugin process.
func (faulty) Exit(context.Context) (string, error) {
	os.Exit(3)
	return "", nil
}

// Env answers the process environment, sorted: the tests compare it with
// the config's env block.
func (faulty) Env(context.Context) ([]string, error) {
	env := os.Environ()
	sort.Strings(env)
	return env, nil
}

// ticks tracks the Tick calls running in this process.
var ticks struct {
	sync.Mutex
	inflight int
	started  int // Tick calls begun so far
}

// Tick answers "tick" or, with crash set, kills the process, for
// crash-storm tests. Before it dies it waits for a quiet moment: no other
// Tick call running and none begun for 5 ms (so their answers have left),
// so that, as far as the plugin can tell, only the crashing call is lost.
func (faulty) Tick(_ context.Context, a struct {
	Crash bool `json:"crash,omitempty"`
}) (string, error) {
	ticks.Lock()
	ticks.started++
	if !a.Crash {
		ticks.inflight++
		ticks.Unlock()
		defer func() {
			ticks.Lock()
			ticks.inflight--
			ticks.Unlock()
		}()
		return "tick", nil
	}
	for {
		quiet := ticks.inflight == 0
		seen := ticks.started
		ticks.Unlock()
		time.Sleep(5 * time.Millisecond)
		ticks.Lock()
		if quiet && ticks.inflight == 0 && ticks.started == seen {
			os.Exit(4) // holding the lock: no Tick call starts any more
		}
	}
}

// Relay calls remote_method with args on the servers of topic through the
// host (timeout seconds, default 20) and answers the result; a remote
// error passes through unchanged.
func (faulty) Relay(ctx context.Context, a struct {
	Topic   string         `json:"topic"`
	Method  string         `json:"remote_method"`
	Args    map[string]any `json:"args,omitempty"`
	Timeout float64        `json:"timeout,omitempty"`
}) (any, error) {
	hc, err := sdk.Host(ctx)
	if err != nil {
		return nil, err
	}
	timeout := 20 * time.Second
	if a.Timeout > 0 {
		timeout = time.Duration(a.Timeout * float64(time.Second))
	}
	var out any
	if err := hc.Call(ctx, sdk.Target{Topic: a.Topic}, a.Method, a.Args, &out, sdk.Timeout(timeout)); err != nil {
		return nil, err
	}
	return out, nil
}

// TracedRelay is Relay inside a span of the plugin's own, started with
// the standard OpenTelemetry API under the span the SDK gives the call; it
// answers the relayed result and the ids of both spans.
func (f faulty) TracedRelay(ctx context.Context, a struct {
	Topic  string         `json:"topic"`
	Method string         `json:"remote_method"`
	Args   map[string]any `json:"args,omitempty"`
}) (map[string]any, error) {
	call := trace.SpanFromContext(ctx).SpanContext()
	ctx, span := otel.Tracer("faulty").Start(ctx, "faulty.relay")
	defer span.End()
	hc, err := sdk.Host(ctx)
	if err != nil {
		return nil, err
	}
	var out any
	if err := hc.Call(ctx, sdk.Target{Topic: a.Topic}, a.Method, a.Args, &out, sdk.Timeout(20*time.Second)); err != nil {
		return nil, err
	}
	return map[string]any{"result": out, "trace_id": call.TraceID().String(), "call_span_id": call.SpanID().String(),
		"relay_span_id": span.SpanContext().SpanID().String()}, nil
}

// Announce sends a notification of event_type to topic through the host.
func (faulty) Announce(ctx context.Context, a struct {
	Topic     string `json:"topic"`
	EventType string `json:"event_type"`
	Priority  string `json:"priority"`
	Payload   any    `json:"payload"`
}) error {
	hc, err := sdk.Host(ctx)
	if err != nil {
		return err
	}
	return hc.Notify(ctx, sdk.OutgoingNotification{
		PublisherID: "faulty." + version, Topics: []string{a.Topic}, Priority: a.Priority,
		EventType: a.EventType, Payload: a.Payload,
	})
}

// Record appends a.ID to $JOURNAL and answers it.
func (faulty) Record(_ context.Context, a struct {
	ID string `json:"id"`
}) (string, error) {
	f, err := os.OpenFile(os.Getenv("JOURNAL"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, a.ID); err != nil {
		return "", err
	}
	return a.ID, nil
}

type journal struct{}

// Notify records the notification, or crashes once on request.
func (journal) Notify(_ context.Context, n sdk.Notification) (sdk.NotificationResult, error) {
	var p struct {
		Crash bool `json:"crash"`
	}
	_ = n.DecodePayload(&p)
	path := os.Getenv("JOURNAL")
	if p.Crash {
		marker := path + "." + n.MessageID + ".crashed"
		if _, err := os.Stat(marker); err != nil {
			_ = os.WriteFile(marker, nil, 0o644)
			os.Exit(4)
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return sdk.Requeue, err
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, n.MessageID); err != nil {
		return sdk.Requeue, err
	}
	return sdk.Handled, nil
}

// badShape has a method of a shape the SDK refuses: two arguments.
type badShape struct{}

func (badShape) Add(_ context.Context, a, b int) (int, error) { return a + b, nil }

func main() {
	switch mode {
	case "notify-only":
		sdk.ServeAll(sdk.Notifications{Name: "journal", Impl: journal{}})
		return
	case "bad-signature":
		sdk.Serve(sdk.Endpoint{Version: "1.0", Impl: badShape{}})
		return
	case "stdout-chatter":
		fmt.Println("starting up")
	case "exit-at-start":
		fmt.Fprintln(os.Stderr, "this build exits at start")
		os.Exit(1)
	case "crash-later":
		go func() {
			time.Sleep(time.Second)
			os.Exit(2)
		}()
	case "crash-quiet":
		go func() {
			time.Sleep(time.Second)
			activity.exitWhenQuiet(2)
		}()
	}
	sdk.ServeAll(sdk.Endpoint{Version: "1.0", Impl: faulty{}}, sdk.Notifications{Name: "journal", Impl: journal{}})
}
