package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeHost answers calls to method "fail" with a nova failure, "slow" with
// DeadlineExceeded, "lost" with NotFound, and anything else with the
// request echoed back; it records notifications and casts.
type fakeHost struct {
	pluginv1.UnimplementedHostServer

	mu     sync.Mutex
	calls  []*pluginv1.HostCallRequest
	casts  []*pluginv1.HostCastRequest
	notifs []*pluginv1.HostNotifyRequest
}

func (f *fakeHost) Call(_ context.Context, req *pluginv1.HostCallRequest) (*pluginv1.HostCallResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	switch req.GetMethod() {
	case "fail":
		return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_Failure{Failure: &pluginv1.Failure{
			ClassName: "InstanceNotFound", Module: "nova.exception", Message: "no such instance",
			Traceback: []string{"Traceback (most recent call last):\n", "nova.exception.InstanceNotFound: no such instance\n"},
			ArgsJson:  []byte(`["no such instance"]`), KwargsJson: []byte(`{"instance_id":"i-1"}`),
		}}}, nil
	case "slow":
		return nil, status.Error(codes.DeadlineExceeded, "Timed out waiting for a reply")
	case "lost":
		return nil, status.Error(codes.NotFound, "message undeliverable")
	}
	res, _ := json.Marshal(map[string]any{
		"topic": req.GetTarget().GetTopic(), "args": json.RawMessage(req.GetArgsJson()),
		"context": json.RawMessage(orNull(req.GetContextJson())), "timeout_ms": req.GetTimeoutMs(),
	})
	return &pluginv1.HostCallResponse{Outcome: &pluginv1.HostCallResponse_ResultJson{ResultJson: res}}, nil
}

func (f *fakeHost) Cast(_ context.Context, req *pluginv1.HostCastRequest) (*pluginv1.HostCastResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.casts = append(f.casts, req)
	return &pluginv1.HostCastResponse{}, nil
}

func (f *fakeHost) Notify(_ context.Context, req *pluginv1.HostNotifyRequest) (*pluginv1.HostNotifyResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notifs = append(f.notifs, req)
	return &pluginv1.HostNotifyResponse{}, nil
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

// relayer forwards calls through the host.
type relayer struct{}

type relayArgs struct {
	Method string         `json:"method"`
	Args   map[string]any `json:"args,omitempty"`
}

func (relayer) Relay(ctx context.Context, a relayArgs) (any, error) {
	hc, err := sdk.Host(ctx)
	if err != nil {
		return nil, err
	}
	var out any
	err = hc.Call(ctx, sdk.Target{Topic: "other"}, a.Method, a.Args, &out, sdk.Timeout(5*time.Second))
	return out, err
}

func (relayer) Fire(ctx context.Context, a map[string]any) error {
	hc, err := sdk.Host(ctx)
	if err != nil {
		return err
	}
	if err := hc.Cast(ctx, sdk.Target{Topic: "other", Fanout: true}, "ping", a); err != nil {
		return err
	}
	return hc.Notify(ctx, sdk.OutgoingNotification{
		PublisherID: "relay.host1", Topics: []string{"audit"}, Priority: "warn",
		EventType: "relay.fired", Payload: a,
	})
}

func (relayer) Probe(ctx context.Context, a relayArgs) (string, error) {
	hc, err := sdk.Host(ctx)
	if err != nil {
		return "", err
	}
	err = hc.Call(ctx, sdk.Target{Topic: "other"}, a.Method, nil, nil)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout", nil
	case errors.Is(err, sdk.ErrUndeliverable):
		return "undeliverable", nil
	}
	return "", err
}

func TestHostClient(t *testing.T) {
	fh := &fakeHost{}
	h := sdktest.NewPlugin(t, sdk.Static(sdk.Endpoint{Impl: relayer{}}), sdktest.WithHost(fh))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("call forwards args and request context", func(t *testing.T) {
		var got map[string]any
		err := h.Call(ctx, "relay", map[string]any{"method": "echo", "args": map[string]any{"x": 1}}, &got,
			sdktest.Context(map[string]any{"request_id": "req-1"}))
		if err != nil {
			t.Fatal(err)
		}
		if got["topic"] != "other" || got["args"].(map[string]any)["x"] != float64(1) || got["timeout_ms"] != float64(5000) {
			t.Errorf("result = %v", got)
		}
		if rc, _ := got["context"].(map[string]any); rc["request_id"] != "req-1" {
			t.Errorf("forwarded context = %v, want request_id req-1", got["context"])
		}
	})
	t.Run("remote error keeps class and module", func(t *testing.T) {
		err := h.Call(ctx, "relay", map[string]any{"method": "fail"}, nil)
		var re *sdk.RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want *sdk.RemoteError", err)
		}
		if re.Module != "nova.exception" || re.Class != "InstanceNotFound" || re.Message != "no such instance" {
			t.Errorf("remote error = %+v", re)
		}
		if re.Kwargs["instance_id"] != "i-1" {
			t.Errorf("kwargs = %v", re.Kwargs)
		}
	})
	t.Run("transport errors", func(t *testing.T) {
		for method, want := range map[string]string{"slow": "timeout", "lost": "undeliverable"} {
			var got string
			if err := h.Call(ctx, "probe", map[string]any{"method": method}, &got); err != nil || got != want {
				t.Errorf("probe %s = %q, %v; want %q", method, got, err, want)
			}
		}
	})
	t.Run("cast and notify", func(t *testing.T) {
		if err := h.Call(ctx, "fire", map[string]any{"n": 7}, nil); err != nil {
			t.Fatal(err)
		}
		fh.mu.Lock()
		defer fh.mu.Unlock()
		if len(fh.casts) != 1 || !fh.casts[0].GetTarget().GetFanout() || string(fh.casts[0].GetArgsJson()) != `{"n":7}` {
			t.Errorf("casts = %v", fh.casts)
		}
		if len(fh.notifs) != 1 {
			t.Fatalf("notifications = %v", fh.notifs)
		}
		n := fh.notifs[0]
		if n.GetPublisherId() != "relay.host1" || n.GetPriority() != "warn" || n.GetEventType() != "relay.fired" ||
			string(n.GetPayloadJson()) != `{"n":7}` || len(n.GetTopics()) != 1 || n.GetTopics()[0] != "audit" {
			t.Errorf("notification = %v", n)
		}
	})
}

func TestHostClientWithoutHost(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: relayer{}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.Call(ctx, "relay", map[string]any{"method": "echo"}, nil)
	var re *sdk.RemoteError
	if !errors.As(err, &re) || re.Message != sdk.ErrNoHost.Error() {
		t.Errorf("err = %v, want a failure carrying %v", err, sdk.ErrNoHost)
	}
	if _, err := sdk.Host(context.Background()); !errors.Is(err, sdk.ErrNoHost) {
		t.Errorf("Host outside a call = %v, want ErrNoHost", err)
	}
}
