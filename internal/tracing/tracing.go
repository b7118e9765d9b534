package tracing

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols of the OTLP exporter.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http"
)

// ScopeName is the instrumentation scope of oslohost's spans.
const ScopeName = "github.com/oslohost/oslohost"

// Config is what Setup needs (the `telemetry` block).
type Config struct {
	// Endpoint is host:port for grpc, host:port or a URL for http.
	Endpoint string
	Protocol string // ProtocolGRPC (default) or ProtocolHTTP
	Insecure bool   // plain text instead of TLS
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// SamplingRatio is the fraction of new traces sampled (traces continued
	// from a caller follow the caller's decision); 1 samples all.
	SamplingRatio float64
	// BatchTimeout is how long a finished span may wait before export;
	// 0 means the OpenTelemetry default.
	BatchTimeout time.Duration
	// HMACKeys are osprofiler's [profiler] hmac_keys: when set, an incoming
	// trace_info is continued only when its hmac_key is one of them, and the
	// first signs the traces the host starts itself. Empty: every
	// trace_info is continued (as nova's RPC serializer does) and traces
	// the host starts carry none to Python.
	HMACKeys []string
}

// state is the installed configuration; nil when tracing is off.
type state struct {
	cfg    Config
	tracer trace.Tracer
	keys   []string
	log    hclog.Logger
}

var active atomic.Pointer[state]

// On reports whether tracing is set up in this process.
func On() bool { return active.Load() != nil }

// Current returns the configuration Setup installed; false when tracing is off.
func Current() (Config, bool) {
	st := active.Load()
	if st == nil {
		return Config{}, false
	}
	return st.cfg, true
}

// Setup creates the exporter and tracer provider of cfg, installs them as
// OpenTelemetry's global provider and turns the hooks on. The returned
// function flushes the spans not yet exported and turns tracing off again
// (the global provider becomes a no-op one). Setup is meant to be called
// once per process.
func Setup(ctx context.Context, cfg Config, log hclog.Logger) (shutdown func(context.Context) error, err error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("telemetry: no otlp_endpoint")
	}
	if log == nil {
		log = hclog.NewNullLogger()
	}
	exp, err := newExporter(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName)))
	if err != nil {
		res = resource.NewSchemaless(semconv.ServiceName(cfg.ServiceName))
	}
	var bopts []sdktrace.BatchSpanProcessorOption
	if cfg.BatchTimeout > 0 {
		bopts = append(bopts, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	ratio := cfg.SamplingRatio
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, bopts...),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	// Export failures (collector unreachable) go to our log, not to the
	// standard library's logger on stderr.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("span export failed", "error", err) }))
	active.Store(&state{cfg: cfg, tracer: tp.Tracer(ScopeName), keys: cfg.HMACKeys, log: log})
	return func(ctx context.Context) error {
		active.Store(nil)
		otel.SetTracerProvider(noop.NewTracerProvider())
		return tp.Shutdown(ctx)
	}, nil
}

func newExporter(ctx context.Context, cfg Config) (*otlptrace.Exporter, error) {
	switch cfg.Protocol {
	case "", ProtocolGRPC:
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
		if cfg.Insecure {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(ctx, opts...)
	case ProtocolHTTP:
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(httpURL(cfg))}
		if cfg.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		return otlptracehttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("telemetry: unknown protocol %q", cfg.Protocol)
}

// httpURL is the OTLP/HTTP traces URL of cfg.Endpoint: a host:port gets
// the scheme and the standard /v1/traces path.
func httpURL(cfg Config) string {
	for _, s := range []string{"http://", "https://"} {
		if len(cfg.Endpoint) > len(s) && cfg.Endpoint[:len(s)] == s {
			return cfg.Endpoint
		}
	}
	scheme := "https://"
	if cfg.Insecure {
		scheme = "http://"
	}
	return scheme + cfg.Endpoint + "/v1/traces"
}

// Span is one of the host's spans, or nothing when tracing is off (its
// methods then do nothing). It is a value: passing it allocates nothing.
type Span struct{ s trace.Span }

// On reports whether sp is a span (tracing on), recording or not.
func (sp Span) On() bool { return sp.s != nil }

// Recording reports whether sp is a real span.
func (sp Span) Recording() bool { return sp.s != nil && sp.s.IsRecording() }

// End ends sp, marking it failed with err when err is not nil.
func (sp Span) End(err error) {
	if sp.s == nil {
		return
	}
	if err != nil {
		sp.s.RecordError(err)
		sp.s.SetStatus(codes.Error, err.Error())
	}
	sp.s.End()
}

// SetAttributes adds attributes to sp.
func (sp Span) SetAttributes(kv ...attribute.KeyValue) {
	if sp.s != nil {
		sp.s.SetAttributes(kv...)
	}
}

// start starts a span of the installed tracer under ctx; without tracing
// it returns ctx and no span.
func start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, Span) {
	st := active.Load()
	if st == nil {
		return ctx, Span{}
	}
	ctx, s := st.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return ctx, Span{s}
}

// Child starts an internal span named name under the span of ctx, when
// tracing is on and ctx carries one (a step of a traced call).
func Child(ctx context.Context, name string) (context.Context, Span) {
	if active.Load() == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, Span{}
	}
	return start(ctx, name, trace.SpanKindInternal)
}

// Use turns the hooks on with tp instead of an OTLP exporter (for tests and
// benchmarks) and returns the function that turns them off again.
func Use(tp trace.TracerProvider, hmacKeys []string, log hclog.Logger) (off func()) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	active.Store(&state{tracer: tp.Tracer(ScopeName), keys: hmacKeys, log: log})
	return func() { active.Store(nil) }
}
