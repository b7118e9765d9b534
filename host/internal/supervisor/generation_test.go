package supervisor

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDrainLimit(t *testing.T) {
	now := time.Now()
	l := drainLimits{undated: now.Add(30 * time.Second), ceiling: now.Add(30 * time.Minute)}
	tests := []struct {
		name string
		call inflightCall
		l    drainLimits
		want time.Time
	}{
		{"a call without a deadline gets drain_timeout", inflightCall{}, l, l.undated},
		{"a call with a deadline runs to the ceiling at most (it ends at its deadline)", inflightCall{deadline: now.Add(20 * time.Minute)}, l, l.ceiling},
		{"a monitored call without a deadline gets the ceiling", inflightCall{longLived: true}, l, l.ceiling},
		{"drain_timeout above the ceiling: the ceiling", inflightCall{}, drainLimits{undated: now.Add(time.Hour), ceiling: now.Add(time.Minute)}, now.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.l.limit(&tt.call); !got.Equal(tt.want) {
				t.Fatalf("limit = %v, want %v", got.Sub(now), tt.want.Sub(now))
			}
		})
	}
}

// TestDrainCutsEachCallAtItsLimit: the call without a deadline is cut at
// drain_timeout, the one with a deadline goes on until it ends; the drain
// ends idle; a restore ends it early.
func TestDrainCutsEachCallAtItsLimit(t *testing.T) {
	g := newGeneration(1, nil)
	undated := g.begin(context.Background(), false)
	dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dated := g.begin(dctx, false)
	now := time.Now()
	done := make(chan bool, 1)
	go func() {
		done <- g.drain(drainLimits{undated: now.Add(50 * time.Millisecond), ceiling: now.Add(time.Hour)}, nil)
	}()
	select {
	case <-undated.ctx.Done():
		if !errors.Is(context.Cause(undated.ctx), ErrDrainCut) {
			t.Fatalf("cut with %v", context.Cause(undated.ctx))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the call without a deadline was not cut")
	}
	g.end(undated)
	select {
	case <-dated.ctx.Done():
		t.Fatal("the call with a deadline was cut")
	case <-done:
		t.Fatal("drain ended with a call in flight")
	case <-time.After(200 * time.Millisecond):
	}
	g.end(dated)
	select {
	case idle := <-done:
		if !idle {
			t.Fatal("drain did not end idle")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not end once the calls had")
	}
	if g.cut != 1 {
		t.Fatalf("cut %d, want 1", g.cut)
	}

	// A restored generation stops draining at once.
	c := g.begin(context.Background(), false)
	restored := make(chan struct{})
	go func() { done <- g.drain(drainLimits{undated: farFuture, ceiling: farFuture}, restored) }()
	close(restored)
	select {
	case idle := <-done:
		if idle {
			t.Fatal("restored drain reported idle")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not end on restore")
	}
	g.end(c)
}
