package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/plugin/pluginv1"
	"github.com/oslohost/oslohost/plugin/sdk"
	"github.com/oslohost/oslohost/plugin/sdk/sdktest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Gate reports what the context of its calls looks like.
type Gate struct {
	started chan struct{}
	ended   chan error
}

// Wait blocks until its context ends.
func (g *Gate) Wait(ctx context.Context) error {
	g.started <- struct{}{}
	<-ctx.Done()
	g.ended <- ctx.Err()
	return ctx.Err()
}

// Deadline returns the context's deadline in Unix nanoseconds, 0 for none.
func (g *Gate) Deadline(ctx context.Context) (int64, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, nil
	}
	return d.UnixNano(), nil
}

func (g *Gate) Boom(context.Context) error { panic("boom") }

func TestInvokeOverCalls(t *testing.T) {
	g := &Gate{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	h := sdktest.New(t, sdk.Endpoint{Impl: &Calc{}}, sdk.Endpoint{Namespace: "gate", Impl: g})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, err := h.Client().Invoke(ctx, &pluginv1.InvokeRequest{Method: "add"}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Invoke before Configure = %v, want FailedPrecondition", err)
	}
	if _, err := h.Describe(); err != nil {
		t.Fatal(err)
	}

	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var got int
			err := h.Call(ctx, "add", AddArgs{A: i, B: 1000}, &got)
			if err == nil && got != i+1000 {
				err = fmt.Errorf("add(%d, 1000) = %d", i, got)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	bad := &pluginv1.InvokeRequest{Version: "1.0", Method: "ping", ContextJson: []byte("{")}
	if _, err := h.Client().Invoke(ctx, bad); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad request context = %v, want InvalidArgument", err)
	}
	var re *sdk.RemoteError
	if err := h.Call(ctx, "boom", nil, nil, sdktest.Namespace("gate")); !errors.As(err, &re) || !strings.Contains(re.Message, "boom") {
		t.Errorf("panic = %v, want a failure", err)
	}
}

func TestInvokeDeadline(t *testing.T) {
	h := sdktest.New(t, sdk.Endpoint{Impl: &Gate{}})
	if _, err := h.Describe(); err != nil {
		t.Fatal(err)
	}
	deadline := func(ctxDeadline, reqDeadline time.Time) time.Time {
		t.Helper()
		ctx, cancel := context.WithDeadline(context.Background(), ctxDeadline)
		defer cancel()
		req := &pluginv1.InvokeRequest{Version: "1.0", Method: "deadline"}
		req.SetDeadline(reqDeadline)
		resp, err := h.Client().Invoke(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.ParseInt(string(resp.GetResultJson()), 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("deadline %s: %v", resp.GetResultJson(), err)
		}
		return time.Unix(0, n)
	}
	now := time.Now()
	// The request's deadline when it is the earlier.
	if got, want := deadline(now.Add(time.Hour), now.Add(time.Minute)), now.Add(time.Minute); !got.Equal(want) {
		t.Errorf("request deadline: plugin saw %v, want %v", got, want)
	}
	// The host context's deadline when it is the earlier, or when the
	// request has none (gRPC's timeout header rounds it).
	for _, req := range []time.Time{now.Add(2 * time.Hour), {}} {
		if got, want := deadline(now.Add(time.Hour), req), now.Add(time.Hour); got.Sub(want).Abs() > time.Second {
			t.Errorf("context deadline (request's %v): plugin saw %v, want %v", req, got, want)
		}
	}
}

func TestInvokeCancel(t *testing.T) {
	g := &Gate{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	h := sdktest.New(t, sdk.Endpoint{Impl: g})
	if _, err := h.Describe(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Call(ctx, "wait", nil, nil) }()
	timeout := time.After(10 * time.Second)
	select {
	case <-g.started:
	case <-timeout:
		t.Fatal("call did not start")
	}
	cancel()
	select {
	case err := <-g.ended:
		if err != context.Canceled {
			t.Errorf("plugin call's context ended with %v, want Canceled", err)
		}
	case <-timeout:
		t.Fatal("the plugin call's context was not cancelled")
	}
	if err := <-errc; status.Code(err) != codes.Canceled {
		t.Errorf("cancelled call = %v, want Canceled", err)
	}
}
