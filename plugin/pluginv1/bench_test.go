package pluginv1_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// BenchmarkInvoke measures the host ↔ plugin hop alone (no broker): Invoke
// of the echo plugin's "echo" through go-plugin's gRPC connection, as the
// host makes it, with a 100 B and a 10 KiB value, one call at a time and
// GOMAXPROCS×(-cpu) at once. The plugin binary is built in the setup.
//
//	go test -run '^$' -bench Invoke -benchmem ./plugin/pluginv1/
func BenchmarkInvoke(b *testing.B) {
	ep := startEchoPlugin(b)
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
			for b.Loop() {
				invoke(b)
			}
		})
		b.Run(fmt.Sprintf("parallel/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					invoke(b)
				}
			})
		})
	}
}

// startEchoPlugin builds plugins/examples/echo, starts it as the host does
// (pluginv1.ClientConfig, Dispense, Configure, Describe) and stops it at
// cleanup.
func startEchoPlugin(b *testing.B) pluginv1.Endpoint {
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
	ctx := context.Background()
	if err := ep.Configure(ctx, "echo", nil); err != nil {
		b.Fatalf("configure: %v", err)
	}
	if _, err := ep.Describe(ctx); err != nil {
		b.Fatalf("describe: %v", err)
	}
	return ep
}
