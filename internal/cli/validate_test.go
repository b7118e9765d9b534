package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oslohost/oslohost/test/pypeer"
)

// writeHelloConfig builds the SDK's hello plugin and writes a configuration
// serving it on a unique topic; it returns the configuration's path and topic.
func writeHelloConfig(t *testing.T, extra string) (path, topic string) {
	t.Helper()
	hello := buildBinary(t, "./plugin/sdk/testdata/helloplugin", "")
	topic = pypeer.UniqueName(t, "cli-hello")
	cfg := fmt.Sprintf(`transport {
  url = %q
}

admin {
  listen = "127.0.0.1:0"
}

plugin "hello" {
  command = %q
}

server "hello" {
  topic   = %q
  server  = "clitest"
  plugins = ["hello"]
}
%s`, pypeer.URL(), hello, topic, extra)
	path = filepath.Join(t.TempDir(), "oslohost.hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, topic
}

func TestValidate(t *testing.T) {
	valid, _ := writeHelloConfig(t, "")
	warned, _ := writeHelloConfig(t, `
plugin "idle" {
  command = "idle"
}
`)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{
			name:   "invalid HCL",
			args:   []string{"testdata/invalid.hcl"},
			code:   ExitFailure,
			stderr: []string{"Error: ", "on testdata/invalid.hcl line 3"},
		},
		{
			name:   "missing file",
			args:   []string{"testdata/does-not-exist.hcl"},
			code:   ExitFailure,
			stderr: []string{"does-not-exist.hcl"},
		},
		{
			name:   "plugin binary missing",
			args:   []string{"testdata/missing_plugin.hcl"},
			code:   ExitFailure,
			stderr: []string{"Error: Plugin failed to start", "on testdata/missing_plugin.hcl line 6", "no-such-plugin"},
		},
		{
			name:   "valid",
			args:   []string{valid},
			code:   ExitOK,
			stdout: "Configuration is valid.\n",
		},
		{
			name:   "valid with a warning",
			args:   []string{warned},
			code:   ExitOK,
			stdout: "Configuration is valid.\n",
			stderr: []string{"Warning: Unused plugin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, append([]string{"validate"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d", code, tt.code)
			}
			if stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout, tt.stdout)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			if tt.code == ExitOK && strings.Contains(stderr, "Error") {
				t.Errorf("stderr has an error:\n%s", stderr)
			}
		})
	}
}
