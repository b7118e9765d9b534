package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/test/pypeer"
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

// TestStartFailuresSayWhy: `oslohost validate` of a plugin that cannot
// start shows the cause, not go-plugin's boilerplate about architectures,
// and points at the attribute concerned: a method of a bad shape (the
// SDK's error, from the plugin's stderr, logged under the plugin's name
// once), a line printed on stdout before Serve, a config block the plugin
// rejects (at `config`).
func TestStartFailuresSayWhy(t *testing.T) {
	tests := []struct {
		mode string
		attr string // the line the diagnostic shows
		want []string
	}{
		{"bad-signature", "command", []string{"method badShape.Add: takes 3 parameters", "exited before the go-plugin handshake"}},
		{"stdout-chatter", "command", []string{`wrote "starting up" on stdout`}},
		{"bad-config", "config", []string{"this build refuses every configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyExec(t, faultyBuild(t, "v1", tt.mode), filepath.Join(dir, "p"))
			cfg := transportBlock() + `
plugin "p" {
  command = "./p"
  config  = { a = 1 }
}
server "s" {
  topic   = "start-failures"
  plugins = ["p"]
}
`
			if err := os.WriteFile(filepath.Join(dir, "c.hcl"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, stderr := cli(t, dir, "validate", "c.hcl")
			line := map[string]string{"command": `command = "./p"`, "config": `config  = { a = 1 }`}[tt.attr]
			flat := oneLine(stderr)
			if code != 1 || !strings.Contains(stderr, line) {
				t.Fatalf("exit %d, want 1 and a diagnostic at %q", code, line)
			}
			for _, w := range tt.want {
				if !strings.Contains(flat, w) {
					t.Errorf("stderr lacks %q", w)
				}
			}
			if tt.mode == "bad-signature" && !strings.Contains(stderr, "oslohost.plugin.p: plugin cannot start") {
				t.Errorf("the plugin's log line is not under its name, once: oslohost.plugin.p")
			}
			for _, bad := range []string{"compiled for this architecture", "rpc error", "oslohost.plugin.p.p"} {
				if strings.Contains(flat, bad) {
					t.Errorf("stderr has %q", bad)
				}
			}
		})
	}
}

// TestNotificationOnlyPlugin: a plugin with notification handlers and no
// RPC endpoint serves a listener.
func TestNotificationOnlyPlugin(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal")
	topic := pypeer.UniqueName(t, "notifyonly")
	h := runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "n" {
  command = %q
  env     = { JOURNAL = %q }
}
listener "n" {
  topics  = [%q]
  plugins = ["n"]
}
`, faultyBuild(t, "v1", "notify-only"), journal, topic)))
	if p := h.Plugin(t, "n"); p.State != "serving" {
		t.Fatalf("plugin n: %+v", p)
	}
	ctx := bg(t, time.Minute)
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	n, err := client.NewNotifier(tr, "test.notifyonly", client.Topics(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Info(ctx, map[string]any{}, "test.event", map[string]any{"k": 1}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the notification in the journal", func() bool {
		b, _ := os.ReadFile(journal)
		return len(strings.TrimSpace(string(b))) > 0
	})
}
