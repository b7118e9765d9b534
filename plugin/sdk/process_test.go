package sdk_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// TestRealPluginProcess builds testdata/helloplugin and drives it as the host
// does: go-plugin launch with pluginv1.ClientConfig, Configure, Describe,
// Invoke, Notify, Close, kill.
func TestRealPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a plugin binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "helloplugin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/helloplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("manual start refused", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "This binary is a plugin") {
			t.Errorf("manual start: %v, %s", err, out)
		}
	})

	logs := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "plugin.hello", Level: hclog.Debug, Output: logs})
	client := plugin.NewClient(pluginv1.ClientConfig(exec.Command(bin), logger))
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("start plugin: %v\nlogs:\n%s", err, logs)
	}
	ep, err := pluginv1.Dispense(rpc)
	if err != nil {
		t.Fatal(err)
	}

	if err := ep.Configure(ctx, "hello", []byte(`{"greeting":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	d, err := ep.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if eps := d.GetEndpoints(); len(eps) != 1 || eps[0].GetVersion() != "1.2" || strings.Join(eps[0].GetMethods(), ",") != "boom,hello" {
		t.Fatalf("Describe = %v", d)
	}

	invoke := func(method, args string) *pluginv1.InvokeResponse {
		t.Helper()
		req := &pluginv1.InvokeRequest{Version: "1.2", Method: method, ArgsJson: []byte(args),
			ContextJson: []byte(`{"request_id":"req-42"}`), MsgId: "m-" + method}
		req.SetDeadline(time.Now().Add(10 * time.Second))
		resp, err := ep.Invoke(ctx, req)
		if err != nil {
			t.Fatalf("Invoke %s: %v", method, err)
		}
		return resp
	}
	if got := string(invoke("hello", `{"name":"oslo"}`).GetResultJson()); got != `"hi, oslo"` {
		t.Errorf("hello = %s", got)
	}
	if f := invoke("hello", `{"name":""}`).GetFailure(); f.GetClassName() != "ValueError" || f.GetModule() != "builtins" {
		t.Errorf("hello without name = %v", f)
	}
	if f := invoke("boom", `{}`).GetFailure(); f.GetClassName() != "RuntimeError" || f.GetMessage() != "plugin panic: boom" {
		t.Errorf("boom = %v", f)
	}
	if got := string(invoke("hello", `{"name":"again"}`).GetResultJson()); got != `"hi, again"` {
		t.Errorf("hello after a panic = %s", got)
	}
	if hs := d.GetNotificationHandlers(); len(hs) != 1 || hs[0].GetName() != "greetings" ||
		strings.Join(hs[0].GetPriorities(), ",") != "info" || hs[0].GetBatch() {
		t.Fatalf("Describe notification handlers = %v", hs)
	}
	nreq := &pluginv1.NotifyRequest{Handler: "greetings", Notifications: []*pluginv1.Notification{
		{Priority: "info", PublisherId: "greeter.host1", EventType: "greeting.sent", PayloadJson: []byte(`{"to":"oslo"}`),
			ContextJson: []byte(`{"request_id":"req-43"}`), MessageId: "n-1", Attempts: 1},
		{Priority: "info", PayloadJson: []byte(`{"requeue":true}`), MessageId: "n-2", Attempts: 1},
		{Priority: "info", PayloadJson: []byte(`{"panic":true}`), MessageId: "n-3", Attempts: 1},
		{Priority: "info", PayloadJson: []byte(`{}`), MessageId: "n-4", Attempts: 1},
	}}
	nreq.SetDeadline(time.Now().Add(10 * time.Second))
	nresp, err := ep.Notify(ctx, nreq)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	var outcomes []string
	for _, r := range nresp.GetResults() {
		outcomes = append(outcomes, r.GetOutcome().String()+":"+r.GetError())
	}
	if got, want := strings.Join(outcomes, " "), "HANDLED: REQUEUE: REQUEUE:plugin panic: notification boom HANDLED:"; got != want {
		t.Errorf("Notify outcomes = %q, want %q", got, want)
	}
	if err := ep.Close(ctx); err != nil {
		t.Fatal(err)
	}
	client.Kill()

	defer func() {
		if t.Failed() {
			t.Logf("host log:\n%s", logs)
		}
	}()
	// The plugin's JSON log lines were re-emitted through the host's logger.
	out := logs.String()
	for _, want := range []string{"saying hello", "request_id=req-42", "msg_id=m-hello", `panic=boom`,
		"greeting noted", "request_id=req-43", "message_id=n-1", "handler=greetings", `panic="notification boom"`} {
		if !strings.Contains(out, want) {
			t.Errorf("host log lacks %q", want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
