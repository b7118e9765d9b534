package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/bench"
	"github.com/oslohost/oslohost/oslo"
)

// BenchmarkCall measures the client alone: calls of 100 B to bench/ceiling
// (a bare amqp091-go echo server, built and started as a process of its
// own in the setup) through the broker at OSLOHOST_TRANSPORT_URL (default
// the local one), one caller and 64 at once. Besides time and allocations
// per call it reports this process's CPU time per call (client-µs/op):
// the ceiling's and the broker's are in their own processes.
//
//	go test -run '^$' -bench Call -benchmem -count 5 ./client/
func BenchmarkCall(b *testing.B) {
	url := os.Getenv("OSLOHOST_TRANSPORT_URL")
	if url == "" {
		url = "rabbit://guest:guest@127.0.0.1:5672/"
	}
	topic := fmt.Sprintf("bench-client-%d-%d", os.Getpid(), time.Now().UnixNano())
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t, err := client.Dial(dctx, client.Config{URL: url})
	cancel()
	if err != nil {
		b.Skipf("no broker at %s: %v", url, err)
	}
	startCeiling(b, "amqp"+strings.TrimPrefix(url, "rabbit"), topic)
	b.Cleanup(func() { _ = t.Close() })
	c := client.New(t, oslo.Target{Topic: topic}, client.Timeout(30*time.Second))
	args := json.RawMessage(`{"value": "` + strings.Repeat("p", 100) + `"}`)
	ctx := context.Background()
	var out json.RawMessage
	if err := c.Call(ctx, nil, "echo", args, &out); err != nil { // reply queue, exchange
		b.Fatal(err)
	}
	for _, par := range []int{1, 64} {
		b.Run(fmt.Sprintf("C=%d/100B", par), func(b *testing.B) {
			b.ReportAllocs()
			cpu := selfCPU(b)
			if par == 1 {
				for b.Loop() {
					if err := c.Call(ctx, nil, "echo", args, &out); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					var out json.RawMessage
					for pb.Next() {
						if err := c.Call(ctx, nil, "echo", args, &out); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64((selfCPU(b)-cpu).Nanoseconds())/1e3/float64(b.N), "client-µs/op")
		})
	}
}

// startCeiling builds bench/ceiling, starts it on topic and waits for its
// READY line; it is stopped at cleanup.
func startCeiling(b *testing.B, url, topic string) {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "ceiling")
	build := exec.Command(goTool, "build", "-o", bin, "./bench/ceiling")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build bench/ceiling: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-url", url, "-topic", topic)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "READY\n" {
		b.Fatalf("bench/ceiling: %q %v", line, err)
	}
}

// selfCPU is the user and system CPU time of this process.
func selfCPU(b *testing.B) time.Duration {
	d, err := bench.SelfCPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
