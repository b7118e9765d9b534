package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/host/config"
)

// TestSwapQueues: a swap that would leave more than max_draining old
// generations finishing calls, or that comes while a swap is in progress
// or queued, is queued at once instead of started; later requests fold
// into it, a configuration change replacing a binary swap's.
func TestSwapQueues(t *testing.T) {
	busy := func() *generation {
		g := newGeneration(1, nil)
		g.begin(context.Background(), false)
		return g
	}
	idle := func() *generation { return newGeneration(1, nil) }
	tests := []struct {
		name        string
		cur         *generation
		draining    []*generation
		max         int
		swapRunning bool
		reason      string // "" for a swap that starts
	}{
		{"one busy old, busy serving, max 1", busy(), []*generation{busy()}, 1, false, "max_draining is 1"},
		{"one busy old, busy serving, max 2", busy(), []*generation{busy()}, 2, false, ""},
		{"idle old ones do not count", busy(), []*generation{idle(), idle()}, 1, false, ""},
		{"a swap in progress", idle(), nil, 3, true, "in progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sup := New(Config{Settings: func() Settings { return Settings{MaxDraining: tt.max} }})
			pc := &config.Plugin{Name: "p", Command: "/nonexistent/p"}
			s := newPlugin(sup, pc)
			s.cur, s.draining = tt.cur, tt.draining
			if tt.swapRunning {
				s.swapMu.Lock()
				defer s.swapMu.Unlock()
			}
			res, err := s.Swap(context.Background(), pc, true)
			if tt.reason == "" {
				if err == nil || res.Queued { // it started: the command does not exist
					t.Fatalf("swap did not start: %+v %v", res, err)
				}
				return
			}
			if err != nil || !res.Queued || !strings.Contains(res.Reason, tt.reason) {
				t.Fatalf("swap = %+v %v, want queued for %q", res, err, tt.reason)
			}
			changed := &config.Plugin{Name: "p", Command: "/nonexistent/q"}
			if res, _ := s.Swap(context.Background(), changed, false); !res.Queued || res.Reason != "another swap is queued" {
				t.Fatalf("second swap = %+v", res)
			}
			if res, _ := s.Swap(context.Background(), pc, true); !res.Queued {
				t.Fatalf("third swap = %+v", res)
			}
			s.mu.Lock()
			q := s.queued
			s.mu.Unlock()
			if q.cfg != changed || q.strict {
				t.Fatalf("queued %+v: want the changed configuration, not strict", q)
			}
			close(s.done)
			s.wg.Wait()
		})
	}
}

func TestPluginOverridesHost(t *testing.T) {
	d := func(v time.Duration) *config.Duration { c := config.Duration(v); return &c }
	hc := Settings{Probation: 30 * time.Second, DrainCeiling: 30 * time.Minute}
	tests := []struct {
		name               string
		p                  config.Plugin
		probation, ceiling time.Duration
	}{
		{"the host's", config.Plugin{}, 30 * time.Second, 30 * time.Minute},
		{"the plugin's", config.Plugin{Probation: d(time.Minute), DrainCeiling: d(time.Hour)}, time.Minute, time.Hour},
		{"probation off for the plugin", config.Plugin{Probation: d(0)}, 0, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := probationOf(hc, &tt.p); got != tt.probation {
				t.Errorf("probation %v, want %v", got, tt.probation)
			}
			if got := drainCeilingOf(hc, &tt.p); got != tt.ceiling {
				t.Errorf("ceiling %v, want %v", got, tt.ceiling)
			}
		})
	}
}
