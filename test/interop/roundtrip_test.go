package interop

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestGoClientToGoServer: both sides ours, both executors.
func TestGoClientToGoServer(t *testing.T) {
	for _, kind := range []string{"pool", "blocking"} {
		t.Run(kind, func(t *testing.T) {
			exec, err := executors.New(kind, 8)
			if err != nil {
				t.Fatal(err)
			}
			topic := pypeer.UniqueName(t, "go2go"+kind)
			gs := startGoServer(t, serverOpts{topic: topic, server: "g1", executor: exec})
			c := client.New(dialClient(t, ""), oslo.Target{Topic: topic}, client.Timeout(10*time.Second))
			ctx := bg(t, time.Minute)
			var got map[string]any
			if err := c.Call(ctx, map[string]any{"user_id": "u"}, "echo", map[string]any{"value": "v", "k": 1}, &got); err != nil {
				t.Fatal(err)
			}
			if got["value"] != "v" || got["ctxt_seen"].(map[string]any)["user_id"] != "u" {
				t.Fatalf("echo: %v", got)
			}
			err = c.Call(ctx, nil, "fail_value", nil, nil)
			if !errors.Is(err, &client.RemoteError{Module: "builtins", Class: "ValueError"}) {
				t.Fatalf("fail_value: %v", err)
			}
			var pong string
			if err := c.Prepare(client.Server("g1")).Call(ctx, nil, "oslo_rpc_server_ping", nil, &pong); err != nil || pong != "pong" {
				t.Fatalf("ping: %q %v", pong, err)
			}
			// Heartbeats from a Go server keep a long call alive.
			var slept string
			err = c.Prepare(client.Timeout(time.Hour), client.CallMonitorTimeout(2*time.Second)).Call(ctx, nil, "slow", map[string]any{"seconds": 3}, &slept)
			if err != nil || slept != "slept 3" {
				t.Fatalf("slow: %q %v", slept, err)
			}
			if kind == "blocking" {
				// One at a time, in order: casts are handled in the order sent.
				for i := 0; i < 20; i++ {
					if err := c.Cast(ctx, nil, "record", map[string]any{"i": i}); err != nil {
						t.Fatal(err)
					}
				}
				for i := 0; i < 20; i++ {
					if c := nextCast(t, gs.casts); c.Args["i"] != float64(i) {
						t.Fatalf("cast %d arrived as %v", i, c.Args["i"])
					}
				}
			}
		})
	}
}

// BenchmarkRoundTrip measures Go client -> Go server calls through the
// local broker (sequential, then parallel callers).
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{100, 10 << 10} {
		topic := pypeer.UniqueName(b, "bench")
		startGoServer(b, serverOpts{topic: topic, server: "b1", executor: executors.NewPool(64)})
		c := client.New(dialClient(b, ""), oslo.Target{Topic: topic}, client.Timeout(30*time.Second))
		args := map[string]any{"value": strings.Repeat("p", size)}
		ctx := bg(b, 10*time.Minute)
		b.Run(fmt.Sprintf("sequential/%dB", size), func(b *testing.B) {
			for b.Loop() {
				if err := c.Call(ctx, nil, "echo", args, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("parallel/%dB", size), func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Call(ctx, nil, "echo", args, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
