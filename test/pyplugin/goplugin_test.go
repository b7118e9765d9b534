package pyplugin

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/test/pypeer"
)

// fakeHost answers the Host service's Call with the method it was asked.
type fakeHost struct {
	pluginv1.UnimplementedHostServer
}

func (fakeHost) Call(_ context.Context, req *pluginv1.HostCallRequest) (*pluginv1.HostCallResponse, error) {
	res := fmt.Sprintf("%q", "fake host ran "+req.GetMethod()+" on "+req.GetTarget().GetTopic())
	return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_ResultJson{ResultJson: []byte(res)}}, nil
}

// TestGoPluginProtocol drives the Python SDK with go-plugin's own client,
// as the host does, with and without AutoMTLS: handshake, health,
// Configure/Describe, invocations on the Calls stream, the host
// service over the broker, two processes side by side on their own unix
// sockets, and a graceful shutdown through the controller.
func TestGoPluginProtocol(t *testing.T) {
	pypeer.Python(t)
	for _, tc := range []struct {
		name string
		mtls bool
	}{{"plain", false}, {"AutoMTLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := func() (*plugin.Client, pluginv1.Endpoint) {
				cmd := exec.Command("/usr/bin/python3", "-m", "oslohost_plugin", "--endpoint", "hostuse:Relay")
				cmd.Env = []string{"PYTHONPATH=" + paths.sdk + ":" + paths.testdata, "PYTHONDONTWRITEBYTECODE=1"}
				ccfg := pluginv1.ClientConfig(cmd, hclog.New(&hclog.LoggerOptions{Name: "py", Level: hclog.Warn, Output: testWriter{t}}))
				ccfg.AutoMTLS = tc.mtls
				c := plugin.NewClient(ccfg)
				t.Cleanup(c.Kill)
				rpc, err := c.Client()
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				if err := rpc.Ping(); err != nil {
					t.Fatalf("health: %v", err)
				}
				ep, err := pluginv1.Dispense(rpc)
				if err != nil {
					t.Fatal(err)
				}
				return c, ep
			}
			c1, ep := start()
			c2, _ := start() // a second generation beside the first
			if a1, a2 := c1.ReattachConfig().Addr, c2.ReattachConfig().Addr; a1.Network() != "unix" || a1.String() == a2.String() {
				t.Fatalf("listen addresses %s:%s and %s:%s, want two unix sockets", a1.Network(), a1, a2.Network(), a2)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := pluginv1.ServeHost(ep, fakeHost{})
			if err != nil {
				t.Fatal(err)
			}
			if err := ep.Configure(ctx, "proto", []byte(`{"answer": 1}`), pluginv1.WithHostService(id)); err != nil {
				t.Fatalf("configure: %v", err)
			}
			desc, err := ep.Describe(ctx)
			if err != nil || len(desc.GetEndpoints()) != 1 || desc.GetEndpoints()[0].GetNamespace() != "relay" {
				t.Fatalf("describe: %v %v", desc, err)
			}
			resp, err := ep.Invoke(ctx, &pluginv1.InvokeRequest{
				Namespace: "relay", Version: "1.0", Method: "relay_call",
				RequestNamespace: "relay", RequestVersion: "1.0",
				ContextJson: []byte(`{}`), ArgsJson: []byte(`{"topic": "t1", "meth": "m1"}`),
			})
			if err != nil || string(resp.GetResultJson()) != `"fake host ran m1 on t1"` {
				t.Fatalf("invoke through the host service: %v %v", resp, err)
			}
			resp, err = ep.Invoke(ctx, &pluginv1.InvokeRequest{Namespace: "relay", Version: "1.0", Method: "config", RequestNamespace: "relay"})
			if err != nil || string(resp.GetResultJson()) != `{"config": {"answer": 1}, "name": "proto"}` {
				t.Fatalf("invoke config: %v %v", resp, err)
			}
			// go-plugin waits 2 s for a graceful exit after Shutdown, then kills.
			killStart := time.Now()
			c1.Kill()
			if d := time.Since(killStart); !c1.Exited() || d > 1500*time.Millisecond {
				t.Fatalf("Kill: exited=%v after %v, want a graceful exit at once", c1.Exited(), d)
			}
		})
	}
}

// TestPythonContract: the handshake and environment the Python SDK expects
// are pluginv1's (plugin/pluginv1/handshake.go, size.go), which the Python
// code cannot import; this keeps the two from drifting apart.
func TestPythonContract(t *testing.T) {
	py := pypeer.Python(t)
	cmd := exec.Command(py, "-c", `import json, oslohost_plugin as p, oslohost_plugin.hclog as h
print(json.dumps([p.PROTOCOL_VERSION, p.MAGIC_COOKIE_KEY, p.MAGIC_COOKIE_VALUE,
                  p.ENV_MAX_MESSAGE_SIZE, p.DEFAULT_MAX_MESSAGE_SIZE, h.ENV_LOG_LEVEL]))`)
	cmd.Env = []string{"PYTHONPATH=" + paths.sdk, "PYTHONDONTWRITEBYTECODE=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var got []any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []any{float64(pluginv1.ProtocolVersion), pluginv1.Handshake.MagicCookieKey, pluginv1.Handshake.MagicCookieValue,
		pluginv1.EnvMaxMessageSize, float64(pluginv1.DefaultMaxMessageSize), pluginv1.EnvLogLevel}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("sdk/python's contract differs from pluginv1's (-pluginv1 +python):\n%s", d)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
