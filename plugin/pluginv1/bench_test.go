package pluginv1_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/oslohost/oslohost/internal/bench"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// BenchmarkInvoke measures the host ↔ plugin hop alone (no broker): Invoke
// of the echo plugin's "echo" through go-plugin's gRPC connection, as the
// host makes it, with a 100 B, a 10 KiB and a 4 MiB value, one call at a time,
// GOMAXPROCS at once and 64 at once (as a pool executor of 64 workers).
// Besides time per call it reports the CPU time per call of the host
// (this process) and of the plugin process. The plugin binary is built in
// the setup. The 4 MiB value is measured one call at a time only.
//
//	go test -run '^$' -bench Invoke -benchmem ./plugin/pluginv1/
func BenchmarkInvoke(b *testing.B) {
	ep, pid := startPlugin(b, "echo")
	for _, size := range []int{100, 10240, 4 << 20} {
		req := &pluginv1.InvokeRequest{
			Version:     "1.0",
			Method:      "echo",
			ContextJson: []byte(`{"user_id": "bench", "client_timeout": null}`),
			ArgsJson:    []byte(`{"value": "` + strings.Repeat("x", size) + `"}`),
			MsgId:       "0123456789abcdef0123456789abcdef",
		}
		invoke := func(b *testing.B) {
			resp, err := ep.Invoke(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			if f := resp.GetFailure(); f != nil {
				b.Fatalf("echo failed: %s: %s", f.GetClassName(), f.GetMessage())
			}
		}
		b.Run(fmt.Sprintf("sequential/%s", sizeName(size)), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			cpu := startCPU(b, pid)
			for b.Loop() {
				invoke(b)
			}
			cpu.report(b)
		})
		if size > 10240 {
			continue
		}
		for _, par := range []int{1, 64} {
			name := "parallel"
			if par > 1 {
				name += strconv.Itoa(par)
			}
			b.Run(fmt.Sprintf("%s/%s", name, sizeName(size)), func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				if par > 1 {
					b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
				}
				cpu := startCPU(b, pid)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						invoke(b)
					}
				})
				cpu.report(b)
			})
		}
	}
}

// sizeName is 100B, 10240B (the names of earlier runs) or 4MiB.
func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkNotify measures notification delivery host → plugin alone (no
// broker): Notify of the audit plugin's handler through go-plugin's gRPC
// connection, as the host's notify forwarder makes it, with one
// notification per call one at a time, one per call 64 at once (a pool
// executor of 64 workers), and 64 per call (a batch listener). It reports
// notifications per second and the CPU time per call of the host and the
// plugin.
//
//	go test -run '^$' -bench Notify -benchmem ./plugin/pluginv1/
func BenchmarkNotify(b *testing.B) {
	ep, pid := startPlugin(b, "audit")
	note := func(i int) *pluginv1.Notification {
		return &pluginv1.Notification{
			Priority: "info", PublisherId: "compute.host1", EventType: "compute.instance.create.end",
			PayloadJson: []byte(`{"instance_id": "6b1e3b57-0d0a-4d3c-9d4e-1b6f0c7f6d2a", "state": "active"}`),
			ContextJson: []byte(`{"user_id": "bench", "request_id": "req-1"}`),
			MessageId:   fmt.Sprintf("6b1e3b57-0d0a-4d3c-9d4e-%012d", i), Timestamp: "2026-12-03 11:00:00.000000",
			Attempts: 1,
		}
	}
	notify := func(b *testing.B, req *pluginv1.NotifyRequest) {
		resp, err := ep.Notify(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range resp.GetResults() {
			if r.GetOutcome() != pluginv1.NotifyResult_HANDLED {
				b.Fatalf("notification not handled: %s", r.GetError())
			}
		}
	}
	for _, tc := range []struct {
		name       string
		par, batch int
	}{{"sequential/1", 0, 1}, {"parallel64/1", 64, 1}, {"sequential/64", 0, 64}} {
		req := &pluginv1.NotifyRequest{Handler: "audit"}
		for i := range tc.batch {
			req.Notifications = append(req.Notifications, note(i))
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU(b, pid)
			if tc.par > 0 {
				b.SetParallelism(max(1, tc.par/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						notify(b, req)
					}
				})
			} else {
				for b.Loop() {
					notify(b, req)
				}
			}
			b.ReportMetric(float64(b.N*tc.batch)/b.Elapsed().Seconds(), "notif/s")
			cpu.report(b)
		})
	}
}

// cpuClock holds the CPU times of the host and the plugin process at the
// start of a benchmark.
type cpuClock struct {
	pid          int
	host, plugin time.Duration
}

func startCPU(b *testing.B, pid int) cpuClock {
	return cpuClock{pid: pid, host: hostCPU(b), plugin: processCPU(b, pid)}
}

// report adds the host's and the plugin's CPU time per call to b's results.
func (c cpuClock) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64((hostCPU(b)-c.host).Microseconds())/n, "host-µs/op")
	b.ReportMetric(float64((processCPU(b, c.pid)-c.plugin).Microseconds())/n, "plugin-µs/op")
}

// hostCPU returns the user and system CPU time of this process.
func hostCPU(b *testing.B) time.Duration {
	d, err := bench.SelfCPU()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// processCPU returns the user and system CPU time of process pid.
func processCPU(b *testing.B, pid int) time.Duration {
	d, err := bench.ProcessCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// startPlugin builds plugins/examples/NAME, starts it as the host does
// (pluginv1.ClientConfig, Dispense, Configure, Describe), stops it at
// cleanup and returns its Endpoint and process id.
func startPlugin(b *testing.B, name string) (pluginv1.Endpoint, int) {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), name)
	build := exec.Command(goTool, "build", "-o", bin, "./plugins/examples/"+name)
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the %s plugin: %v\n%s", name, err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	c := plugin.NewClient(pluginv1.ClientConfig(cmd, nil))
	b.Cleanup(c.Kill)
	rpc, err := c.Client()
	if err != nil {
		b.Fatalf("start the %s plugin: %v", name, err)
	}
	ep, err := pluginv1.Dispense(rpc)
	if err != nil {
		b.Fatal(err)
	}
	pid := 0
	if rc := c.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}
	ctx := context.Background()
	if err := ep.Configure(ctx, name, nil); err != nil {
		b.Fatalf("configure: %v", err)
	}
	if _, err := ep.Describe(ctx); err != nil {
		b.Fatalf("describe: %v", err)
	}
	return ep, pid
}
