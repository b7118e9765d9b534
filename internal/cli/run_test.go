package cli

import (
	"strings"
	"testing"
)

func TestRunFailsToStart(t *testing.T) {
	tests := []struct {
		name   string
		config string
		stderr []string
	}{
		{"invalid HCL", "testdata/invalid.hcl", []string{"Error: Invalid expression", "on testdata/invalid.hcl line 3"}},
		// The command as resolved: an absolute path from the config's directory.
		{"plugin binary missing", "testdata/missing_plugin.hcl", []string{`Error: plugin "ghost": command /`, `/internal/cli/testdata/no-such-plugin: `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, "run", tt.config)
			if code != ExitFailure {
				t.Errorf("exit code = %d, want 1", code)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q", want)
				}
			}
		})
	}
}
