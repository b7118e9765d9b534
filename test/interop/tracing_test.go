package interop

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/tracing"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestGoClientCarriesTrace: the Go client, used on its own by an
// application that traces with OpenTelemetry, makes a span for a cast
// under the application's span and carries it on the wire twice: as the
// osprofiler trace_info a Python service continues (base_id = the trace
// id as a UUID, parent_id a UUID whose low 64 bits are the span id) and as
// a W3C traceparent AMQP header. Without a span in the context the message
// is as before: no header, the request context untouched.
func TestGoClientCarriesTrace(t *testing.T) {
	topic := pypeer.UniqueName(t, "traced")
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	conn, err := amqp.Dial("amqp://guest:guest@127.0.0.1:5672/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("openstack", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, topic, "openstack", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	next := func(t *testing.T) amqp.Delivery {
		t.Helper()
		select {
		case d := <-deliveries:
			return d
		case <-time.After(20 * time.Second):
			t.Fatal("no message")
		}
		return amqp.Delivery{}
	}

	tr := dialClient(t, "")
	c := client.New(tr, oslo.Target{Topic: topic}, client.ProfilerHMACKey("SECRET_KEY"))
	reqCtx := map[string]any{"user_id": "u", "x_unknown": "kept"}

	t.Run("under a span", func(t *testing.T) {
		ctx, app := tp.Tracer("app").Start(bg(t, time.Minute), "app.work")
		if err := c.Cast(ctx, reqCtx, "ping", nil); err != nil {
			t.Fatal(err)
		}
		app.End()
		d := next(t)
		var cast sdktrace.ReadOnlySpan
		for _, s := range rec.Ended() {
			if s.Name() == "oslo.cast ping" {
				cast = s
			}
		}
		if cast == nil || cast.Parent().SpanID() != app.SpanContext().SpanID() {
			t.Fatalf("no oslo.cast span under the application's: %v", cast)
		}
		sc := cast.SpanContext()
		want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
		if got, _ := d.Headers[tracing.TraceparentHeader].(string); got != want {
			t.Errorf("traceparent header %q, want %q", got, want)
		}
		req, err := oslo.DecodeRequest(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		ti, ok, err := tracing.ParseTraceInfo(req.Context)
		if !ok || err != nil {
			t.Fatalf("no trace_info in %v: %v", req.Context, err)
		}
		if strings.ReplaceAll(ti.BaseID, "-", "") != sc.TraceID().String() ||
			strings.ReplaceAll(ti.ParentID, "-", "")[16:] != sc.SpanID().String() || ti.HMACKey != "SECRET_KEY" {
			t.Errorf("trace_info %+v does not map to trace %s span %s", ti, sc.TraceID(), sc.SpanID())
		}
		if req.Context.String("x_unknown") != "kept" || req.Context.String("user_id") != "u" {
			t.Errorf("context keys lost: %v", req.Context)
		}
	})
	t.Run("without a span", func(t *testing.T) {
		if err := c.Cast(bg(t, time.Minute), reqCtx, "ping", nil); err != nil {
			t.Fatal(err)
		}
		d := next(t)
		if _, ok := d.Headers[tracing.TraceparentHeader]; ok {
			t.Errorf("untraced cast has a traceparent header: %v", d.Headers)
		}
		req, err := oslo.DecodeRequest(d.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := req.Context[tracing.TraceInfoKey]; ok || len(req.Context) != 2 {
			t.Errorf("untraced cast's context changed: %v", req.Context)
		}
	})
}
