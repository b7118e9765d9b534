package cli

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
	"github.com/oslohost/oslohost/test/pypeer"
)

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no topic", nil, `required flag(s) "topic"`},
		{"count and duration", []string{"--count", "5", "--duration", "1s"}, "--count and --duration"},
		{"rate and concurrency", []string{"--rate", "10", "--concurrency", "2"}, "--rate (open loop) and --concurrency"},
		{"max in flight without rate", []string{"--max-in-flight", "5"}, "--max-in-flight needs --rate"},
		{"zero concurrency", []string{"--concurrency", "0"}, "--concurrency must be at least 1"},
		{"negative payload", []string{"--payload-size", "-1"}, "--payload-size"},
		{"zero transports", []string{"--transports", "0"}, "--transports"},
		{"zero timeout", []string{"--timeout", "0s"}, "--timeout"},
		{"zero duration", []string{"--duration", "0s"}, "--duration must be positive"},
		{"bad url", []string{"--url", "http://x"}, "invalid --url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"bench"}
			if tt.name != "no topic" {
				args = append(args, "--topic", "t")
			}
			code, _, stderr := runMain(t, append(args, tt.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tt.want)
			}
		})
	}
}

func TestPayloadArgs(t *testing.T) {
	for _, n := range []int{0, 1, 100, 10240} {
		var args struct{ Value string }
		if err := json.Unmarshal(payloadArgs(n), &args); err != nil || len(args.Value) != n {
			t.Errorf("payloadArgs(%d) = %.40s…: value of %d bytes, err %v", n, payloadArgs(n), len(args.Value), err)
		}
	}
}

// TestBenchAgainstServer runs a one-second bench, closed and open loop,
// against an in-process Go server with an echo endpoint. It checks that
// the result is complete, not how fast it is.
func TestBenchAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a broker")
	}
	rawURL := pypeer.URL()
	topic := pypeer.UniqueName(t, "bench")
	startEchoServer(t, rawURL, topic)

	tests := []struct {
		name string
		args []string
		mode string
	}{
		{"closed loop, two transports", []string{"--concurrency", "4", "--transports", "2", "--payload-size", "1000"}, "closed"},
		{"open loop", []string{"--rate", "200", "--max-in-flight", "50"}, "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "--url", rawURL, "--topic", topic, "--duration", "1s", "--warmup", "200ms",
				"--timeout", "20s", "--connect-timeout", "20s", "--json"}, tt.args...)
			code, stdout, stderr := runMain(t, args...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			var got struct {
				Topic     string  `json:"topic"`
				Mode      string  `json:"mode"`
				Calls     int64   `json:"calls"`
				Errors    int64   `json:"errors"`
				Timeouts  int64   `json:"timeouts"`
				Elapsed   float64 `json:"elapsed_s"`
				Rate      float64 `json:"calls_per_s"`
				Latency   map[string]float64
				Transport int `json:"transports"`
			}
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
			}
			if got.Topic != topic || got.Mode != tt.mode || got.Calls == 0 || got.Errors+got.Timeouts != 0 ||
				got.Elapsed < 1 || got.Rate <= 0 {
				t.Errorf("result %+v", got)
			}
			for _, k := range []string{"min_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"} {
				if got.Latency[k] <= 0 {
					t.Errorf("latency %s = %v, want > 0", k, got.Latency[k])
				}
			}
			if got.Latency["p50_ms"] > got.Latency["p99_ms"] || got.Latency["p99_ms"] > got.Latency["max_ms"] {
				t.Errorf("percentiles out of order: %v", got.Latency)
			}
			if !strings.Contains(stderr, "calls/s") {
				t.Errorf("no progress line on stderr:\n%s", stderr)
			}
		})
	}

	t.Run("text output", func(t *testing.T) {
		code, stdout, stderr := runMain(t, "bench", "--url", rawURL, "--topic", topic, "--count", "20",
			"--warmup", "0s", "--timeout", "20s", "--quiet")
		if code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		for _, want := range []string{"closed loop, 1 caller", "20 ok, 0 errors, 0 timeouts", "throughput", "p99"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, stdout)
			}
		}
		if stderr != "" {
			t.Errorf("--quiet, yet stderr:\n%s", stderr)
		}
	})

	t.Run("no server", func(t *testing.T) {
		code, _, stderr := runMain(t, "bench", "--url", rawURL, "--topic", pypeer.UniqueName(t, "nobody"),
			"--count", "1", "--timeout", "20s", "--connect-timeout", "20s")
		if code != ExitFailure || !strings.Contains(stderr, "first call") {
			t.Errorf("exit %d, stderr %q; want 1 and the first call's error", code, stderr)
		}
	})
}

// startEchoServer serves method echo (returns args.value) on topic until
// the test ends.
func startEchoServer(t *testing.T, rawURL, topic string) {
	t.Helper()
	u, err := rabbit.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hosts[0].Host, strconv.Itoa(u.Hosts[0].Port)), 3*time.Second); err != nil {
		t.Skipf("no broker: %v", err)
	} else {
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Warn})
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "bench-test-server", Logger: log})
	if err != nil {
		t.Fatalf("dial broker: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	echo := server.HandlerFunc(func(_ context.Context, c *server.Call) (json.RawMessage, error) {
		var args struct{ Value json.RawMessage }
		if err := json.Unmarshal(c.Args, &args); err != nil {
			return nil, err
		}
		return args.Value, nil
	})
	srv, err := server.New(wrap.Conn(conn, u.Options, "", log), server.Config{
		Target:     oslo.Target{Topic: topic, Server: "bench"},
		Dispatcher: server.NewDispatcher(server.Endpoint{Methods: map[string]server.Handler{"echo": echo}}),
		Logger:     log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
}
