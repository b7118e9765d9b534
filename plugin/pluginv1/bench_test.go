package pluginv1_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// BenchmarkInvoke measures the host ↔ plugin hop alone (no broker): Invoke
// of the echo plugin's "echo" through go-plugin's gRPC connection, as the
// host makes it, with a 100 B and a 10 KiB value, one call at a time,
// GOMAXPROCS at once and 64 at once (as a pool executor of 64 workers).
// Besides time per call it reports the CPU time per call of the host
// (this process) and of the plugin process. The plugin binary is built in
// the setup. OSLOHOST_PLUGIN_UNARY=1 measures unary Invoke instead of
// InvokeStream.
//
//	go test -run '^$' -bench Invoke -benchmem ./plugin/pluginv1/
func BenchmarkInvoke(b *testing.B) {
	ep, pid := startEchoPlugin(b)
	for _, size := range []int{100, 10240} {
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
		b.Run(fmt.Sprintf("sequential/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			cpu := startCPU(b, pid)
			for b.Loop() {
				invoke(b)
			}
			cpu.report(b)
		})
		for _, par := range []int{1, 64} {
			name := "parallel"
			if par > 1 {
				name += strconv.Itoa(par)
			}
			b.Run(fmt.Sprintf("%s/%dB", name, size), func(b *testing.B) {
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
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU returns the user and system CPU time of process pid, from
// /proc/PID/stat (in clock ticks, assumed 100 per second); 0 off Linux.
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is 3,
	// utime 14 and stime 15.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(f) < 13 {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100)
}

// startEchoPlugin builds plugins/examples/echo, starts it as the host does
// (pluginv1.ClientConfig, Dispense, Configure, Describe), stops it at
// cleanup and returns its Endpoint and process id.
func startEchoPlugin(b *testing.B) (pluginv1.Endpoint, int) {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "echo")
	build := exec.Command(goTool, "build", "-o", bin, "./plugins/examples/echo")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build the echo plugin: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	c := plugin.NewClient(pluginv1.ClientConfig(cmd, nil))
	b.Cleanup(c.Kill)
	rpc, err := c.Client()
	if err != nil {
		b.Fatalf("start the echo plugin: %v", err)
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
	if err := ep.Configure(ctx, "echo", nil); err != nil {
		b.Fatalf("configure: %v", err)
	}
	if _, err := ep.Describe(ctx); err != nil {
		b.Fatalf("describe: %v", err)
	}
	return ep, pid
}
