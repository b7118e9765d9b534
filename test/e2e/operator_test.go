package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cli runs the oslohost binary in dir as a user types it there and returns
// its exit code and output.
func cli(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.host, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("oslohost %s: %v\nstderr: %s", strings.Join(args, " "), err, errb.String())
	}
	t.Logf("$ oslohost %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// copyExec copies the executable src to dst.
func copyExec(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestCommandIsAFilePath: a plugin's command names a file relative to the
// config file's directory, never a program on $PATH, even with the config
// in the current directory; the sha256 pin covers that file and a
// mismatch says the file's digest. The plugin here is called "date", as
// /usr/bin/date is.
func TestCommandIsAFilePath(t *testing.T) {
	dir := t.TempDir()
	copyExec(t, bin.faulty, filepath.Join(dir, "date"))
	digest := fileDigest(t, filepath.Join(dir, "date"))
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name, plugin string
		code         int
		want         string
	}{
		{"dot slash", `command = "./date"`, 0, "Configuration is valid."},
		{"bare name", `command = "date"`, 0, "Configuration is valid."},
		{"pinned", `command = "./date"` + "\n  sha256 = \"" + digest + `"`, 0, "Configuration is valid."},
		{"pin mismatch", `command = "./date"` + "\n  sha256 = \"" + wrong + `"`, 1, "the file's sha256 is " + digest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := strings.ReplaceAll(tt.name, " ", "-") + ".hcl"
			cfg := transportBlock() + `
plugin "p" {
  ` + tt.plugin + `
  start_timeout = "10s"
}
server "s" {
  topic   = "command-path"
  plugins = ["p"]
}
`
			if err := os.WriteFile(filepath.Join(dir, name), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := cli(t, dir, "validate", name)
			if code != tt.code || !strings.Contains(oneLine(stdout+stderr), tt.want) {
				t.Fatalf("validate: exit %d, want %d with %q", code, tt.code, tt.want)
			}
		})
	}
}

// oneLine is s with every run of white space one blank (diagnostics wrap).
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
