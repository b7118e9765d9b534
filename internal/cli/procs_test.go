package cli

import (
	"testing"

	"github.com/oslohost/oslohost/host/config"
)

func TestDecideProcs(t *testing.T) {
	tests := []struct {
		name           string
		env            string
		setting, avail int
		host           int
		plugin         string
	}{
		{"one CPU: one processor each", "", 0, 1, 1, "1"},
		{"two CPUs: one processor each", "", 0, 2, 1, "1"},
		{"more CPUs: Go's default", "", 0, 8, 0, ""},
		{"the HCL setting wins over the CPUs", "", 4, 2, 4, "4"},
		{"the environment wins over the HCL setting", "3", 4, 2, 0, "3"},
		{"the environment on a small machine is kept as it is", "2", 0, 2, 0, "2"},
		{"a GOMAXPROCS the runtime ignores is no choice", "lots", 0, 2, 1, "1"},
		{"zero in the environment is no choice", "0", 0, 8, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decideProcs(tt.env, tt.setting, tt.avail)
			if p.host != tt.host || p.plugin != tt.plugin || p.why == "" {
				t.Fatalf("decideProcs(%q, %d, %d) = %+v, want host %d, plugin %q", tt.env, tt.setting, tt.avail, p, tt.host, tt.plugin)
			}
		})
	}
}

// TestProcsApply: plugins get the decided GOMAXPROCS unless their env sets
// one; with no decision their env is left alone.
func TestProcsApply(t *testing.T) {
	cfg := &config.Config{Plugins: []*config.Plugin{
		{Name: "bare"},
		{Name: "own", Env: map[string]string{"GOMAXPROCS": "4", "X": "y"}},
		{Name: "other", Env: map[string]string{"X": "y"}},
	}}
	procs{plugin: "1"}.apply(cfg)
	want := []map[string]string{{"GOMAXPROCS": "1"}, {"GOMAXPROCS": "4", "X": "y"}, {"GOMAXPROCS": "1", "X": "y"}}
	for i, pl := range cfg.Plugins {
		if len(pl.Env) != len(want[i]) {
			t.Fatalf("plugin %s env %v, want %v", pl.Name, pl.Env, want[i])
		}
		for k, v := range want[i] {
			if pl.Env[k] != v {
				t.Fatalf("plugin %s env %v, want %v", pl.Name, pl.Env, want[i])
			}
		}
	}
	untouched := &config.Config{Plugins: []*config.Plugin{{Name: "bare"}}}
	procs{}.apply(untouched)
	if untouched.Plugins[0].Env != nil {
		t.Fatalf("env set without a decision: %v", untouched.Plugins[0].Env)
	}
}
