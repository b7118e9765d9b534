package pyplugin

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestValidateExplains: `oslohost validate` on a Python plugin that cannot
// start says why, in words a user can act on.
func TestValidateExplains(t *testing.T) {
	pypeer.Python(t)
	calc := pluginBlock("pycalc", paths.calc, "calc:endpoints", "", "") + serverBlock("pycalc", "unused-topic", "s", "pycalc")
	tests := []struct {
		name   string
		blocks string
		ok     bool
		want   []string
	}{
		{"valid", calc, true, []string{"Configuration is valid."}},
		{"module not on PYTHONPATH", strings.Replace(calc, ":"+paths.calc, ":/nonexistent", 1), false,
			[]string{"cannot import module 'calc': No module named 'calc'", "PYTHONPATH"}},
		{"no such class", strings.Replace(calc, "calc:endpoints", "calc:NoSuchEndpoint", 1), false,
			[]string{"module 'calc'", "has no attribute 'NoSuchEndpoint'"}},
		{"SDK not on PYTHONPATH", strings.Replace(calc, paths.sdk+":", "", 1), false,
			[]string{"its stderr:", "No module named oslohost_plugin"}},
		{"factory refuses its config", strings.Replace(calc, "config = {}", "config = { start = -1 }", 1), false,
			[]string{"ValueError: start must not be negative, got -1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := hostproc.WriteConfig(t, hostproc.TransportBlock(pypeer.URL())+tt.blocks)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, paths.host, "validate", cfg).CombinedOutput()
			if (err == nil) != tt.ok {
				t.Fatalf("validate: err=%v, want ok=%v\n%s", err, tt.ok, out)
			}
			// The diagnostic is wrapped at 80 columns.
			flat := strings.Join(strings.Fields(string(out)), " ")
			for _, w := range tt.want {
				if !strings.Contains(flat, w) {
					t.Errorf("validate output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
