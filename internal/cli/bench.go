package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/bench"
	"github.com/oslohost/oslohost/oslo"
)

type benchFlags struct {
	brokerFlags
	targetFlags
	method                                      string
	payloadSize                                 int
	concurrency, maxInFlight, count, transports int
	rate                                        float64
	duration, warmup, timeout                   time.Duration
	jsonOut, quiet                              bool
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench --topic TOPIC [flags]",
		Short: "Load-test an oslo.messaging RPC server: calls/s and latency percentiles",
		Long: `Bench calls a method of any oslo.messaging RPC server (Python or oslohost) as
fast as it is asked to and reports calls/s and latency percentiles (exact,
from every measured call), errors and timeouts.

Each call sends args {"value": "<--payload-size bytes>"}: the "echo" method of
the echo plugin (or of a Python endpoint echo(ctxt, value)) sends it back.

Closed loop (the default): --concurrency callers, each calling back-to-back.
Open loop (--rate): calls are sent on a fixed schedule of --rate per second by
as many goroutines as needed, up to --max-in-flight; latency is measured from
each call's scheduled send time, so a server falling behind shows in the
latency rather than slowing the load down (no coordinated omission). Calls
still unsent when the run ends are reported as unsent.

A run lasts --warmup (calls not measured) and then --duration, or until
--count measured calls are made. All callers share one broker connection and
reply queue, as a Go client is meant to be used; --transports spreads the
calls over several. On a machine of at most 2 CPUs bench runs on one Go
processor, as the host does (GOMAXPROCS in the environment decides
instead). Before measuring, one call per transport checks that the target
answers.

A progress line goes to stderr about every second (--quiet: none); the result
goes to stdout, as text or, with --json, as one JSON object:
  {"topic", "method", "payload_bytes", "transports", "timeout_s", "mode",
   "concurrency" | "rate" and "max_in_flight", "warmup_s", "elapsed_s",
   "calls", "errors", "timeouts", "unsent", "workers", "calls_per_s",
   "latency": {"min_ms", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}}
Latency is over the successful calls. Exit status 1 when any measured call
failed or timed out, or when interrupted (the partial result is printed).`,
		Example: `  oslohost bench --topic echo --concurrency 64 --duration 10s --warmup 2s
  oslohost bench --topic echo --rate 2000 --duration 30s --payload-size 10240
  oslohost bench --topic echo --count 10000 --json | jq .calls_per_s`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return f.run(cmd) }),
	}
	fs := cmd.Flags()
	f.targetFlags.register(fs)
	fs.StringVar(&f.method, "method", "echo", "method to call with args {\"value\": PAYLOAD}")
	fs.IntVar(&f.payloadSize, "payload-size", 100, "length in bytes of the value string sent")
	fs.IntVarP(&f.concurrency, "concurrency", "c", 1, "closed loop: callers calling back-to-back")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: calls per second on a fixed schedule (0: closed loop)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", bench.DefaultMaxInFlight, "open loop: bound on calls in flight")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "measured time, after the warm-up")
	fs.IntVarP(&f.count, "count", "n", 0, "measured calls to make, instead of --duration")
	fs.DurationVar(&f.warmup, "warmup", time.Second, "time spent calling before measuring")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long each call waits for its reply")
	fs.IntVar(&f.transports, "transports", 1, "broker connections to spread the calls over")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as JSON")
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "no progress line on stderr")
	return f.brokerFlags.finish(cmd, "topic")
}

// config checks the flags and returns the runner's configuration.
func (f *benchFlags) config(cmd *cobra.Command) (bench.Config, error) {
	fs := cmd.Flags()
	cfg := bench.Config{Warmup: f.warmup}
	switch {
	case f.payloadSize < 0:
		return cfg, usageErrorf("--payload-size must not be negative")
	case f.timeout <= 0:
		return cfg, usageErrorf("--timeout must be positive")
	case f.warmup < 0:
		return cfg, usageErrorf("--warmup must not be negative")
	case f.transports < 1:
		return cfg, usageErrorf("--transports must be at least 1")
	case f.count < 0:
		return cfg, usageErrorf("--count must not be negative")
	case f.count > 0 && fs.Changed("duration"):
		return cfg, usageErrorf("--count and --duration exclude each other")
	case f.count == 0 && f.duration <= 0:
		return cfg, usageErrorf("--duration must be positive")
	case f.rate < 0:
		return cfg, usageErrorf("--rate must not be negative")
	case f.rate > 0 && fs.Changed("concurrency"):
		return cfg, usageErrorf("--rate (open loop) and --concurrency (closed loop) exclude each other")
	case f.rate == 0 && fs.Changed("max-in-flight"):
		return cfg, usageErrorf("--max-in-flight needs --rate")
	case f.rate > 0 && f.maxInFlight < 1:
		return cfg, usageErrorf("--max-in-flight must be at least 1")
	case f.rate == 0 && f.concurrency < 1:
		return cfg, usageErrorf("--concurrency must be at least 1")
	}
	if f.count > 0 {
		cfg.Count = f.count
	} else {
		cfg.Duration = f.duration
	}
	if f.rate > 0 {
		cfg.Rate, cfg.MaxInFlight = f.rate, f.maxInFlight
	} else {
		cfg.Concurrency = f.concurrency
	}
	cfg.Classify = classifyCallError
	return cfg, nil
}

func (f *benchFlags) run(cmd *cobra.Command) error {
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	currentProcs(0)
	if path := os.Getenv("OSLOHOST_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	ctx, stop := interruptContext(cmd.Context())
	defer stop()

	target := f.target()
	clients := make([]*client.Client, 0, f.transports)
	for range f.transports {
		t, err := f.dial(ctx, stderr)
		if err != nil {
			return err
		}
		defer t.Close()
		clients = append(clients, client.New(t, target, client.Timeout(f.timeout), client.AtLeastOnce(true)))
	}
	args := payloadArgs(f.payloadSize)
	// The first call of each transport also sets up its reply queue.
	for _, c := range clients {
		if err := f.call(ctx, c, args); err != nil {
			return fmt.Errorf("first call: %w", describe(err, target, f.method, f.timeout, false))
		}
	}

	var next atomic.Uint64
	caller := func(ctx context.Context) error {
		return f.call(ctx, clients[next.Add(1)%uint64(len(clients))], args)
	}
	if !f.quiet {
		cfg.Progress = progressPrinter(stderr, isTerminal(stderr))
	}
	res, runErr := bench.Run(ctx, cfg, caller)
	if !f.quiet && isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if res == nil {
		return runErr
	}
	if f.jsonOut {
		err = f.writeJSON(cmd.OutOrStdout(), res)
	} else {
		err = f.writeText(cmd.OutOrStdout(), res)
	}
	switch {
	case err != nil:
		return err
	case runErr != nil:
		return errors.New("interrupted")
	case res.Errors+res.Timeouts > 0:
		return silentExit(ExitFailure)
	}
	return nil
}

// call makes one bench call; the client's timeout (--timeout) bounds all
// of it, publishing too.
func (f *benchFlags) call(ctx context.Context, c *client.Client, args json.RawMessage) error {
	return c.Call(ctx, nil, f.method, args, nil)
}

// classifyCallError counts client timeouts and expired call contexts as
// timeouts.
func classifyCallError(err error) bench.Outcome {
	if errors.Is(err, client.ErrTimeout) {
		return bench.TimedOut
	}
	return bench.DefaultClassify(err)
}

// payloadArgs is {"value": "xxx…"} with a value of n bytes.
func payloadArgs(n int) json.RawMessage {
	b := make([]byte, 0, n+len(`{"value":""}`))
	b = append(b, `{"value":"`...)
	for range n {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// progressPrinter writes one progress line per report: in place on a
// terminal, one line each otherwise.
func progressPrinter(w io.Writer, terminal bool) func(bench.Progress) {
	return func(p bench.Progress) {
		phase := ""
		if p.Warmup {
			phase = " (warm-up)"
		}
		line := fmt.Sprintf("%6.1fs%s  %8.1f calls/s  %d calls  %d errors  %d timeouts  %d in flight",
			p.Elapsed.Seconds(), phase, p.Rate, p.Calls, p.Errors, p.Timeouts, p.InFlight)
		if terminal {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

func (f *benchFlags) writeText(w io.Writer, r *bench.Result) error {
	var b strings.Builder
	target := "topic " + oslo.Target{Topic: f.topic, Server: f.server}.RoutingKey()
	if f.namespace != "" {
		target += ", namespace " + f.namespace
	}
	if f.version != "" {
		target += ", version " + f.version
	}
	fmt.Fprintf(&b, "target      %s, method %s, payload %d B\n", target, f.method, f.payloadSize)
	plural := "s"
	if f.transports == 1 {
		plural = ""
	}
	if r.Mode == "open" {
		fmt.Fprintf(&b, "load        open loop, %g calls/s scheduled, at most %d in flight (%d used), %d transport%s\n",
			r.Rate, r.MaxInFlight, r.Workers, f.transports, plural)
	} else {
		callers := "callers"
		if r.Concurrency == 1 {
			callers = "caller"
		}
		fmt.Fprintf(&b, "load        closed loop, %d %s, %d transport%s\n", r.Concurrency, callers, f.transports, plural)
	}
	fmt.Fprintf(&b, "measured    %.3fs after %s of warm-up\n", r.Elapsed.Seconds(), r.Warmup)
	fmt.Fprintf(&b, "calls       %d ok, %d errors, %d timeouts", r.Calls, r.Errors, r.Timeouts)
	if r.Unsent > 0 {
		fmt.Fprintf(&b, ", %d unsent (the rate was not sustained)", r.Unsent)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "throughput  %.1f calls/s\n", r.Throughput)
	l := r.Latency
	fmt.Fprintf(&b, "latency     p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (min %s, mean %s)\n",
		fmtMS(l.P50), fmtMS(l.P90), fmtMS(l.P99), fmtMS(l.P999), fmtMS(l.Max), fmtMS(l.Min), fmtMS(l.Mean))
	if r.Interrupted {
		b.WriteString("(interrupted: partial result)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/1e6) }

// writeJSON writes the target and options, then the result's fields, as
// one flat object on one line.
func (f *benchFlags) writeJSON(w io.Writer, r *bench.Result) error {
	head, err := json.Marshal(struct {
		Topic       string  `json:"topic"`
		Server      string  `json:"server,omitempty"`
		Namespace   string  `json:"namespace,omitempty"`
		Version     string  `json:"version,omitempty"`
		Method      string  `json:"method"`
		PayloadSize int     `json:"payload_bytes"`
		Transports  int     `json:"transports"`
		Timeout     float64 `json:"timeout_s"`
	}{f.topic, f.server, f.namespace, f.version, f.method, f.payloadSize, f.transports, f.timeout.Seconds()})
	if err != nil {
		return err
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Both are objects: splice "{head…}" and "{body…}" into "{head…,body…}".
	out := append(head[:len(head)-1:len(head)-1], ',')
	out = append(out, body[1:]...)
	_, err = w.Write(append(out, '\n'))
	return err
}
