package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestBadPluginBinaries: plugins that cannot be started stop `oslohost
// run` with a clear error naming the plugin (exit 1), before any serving.
func TestBadPluginBinaries(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notPlugin := filepath.Join(dir, "not-plugin")
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, plugin, want string
	}{
		{"missing binary", `command = "` + filepath.Join(dir, "nope") + `"`, "no such file"},
		{"not executable", `command = "` + notExec + `"`, "not an executable"},
		{"not a plugin", `command = "` + notPlugin + `"`, `plugin "p"`},
		{"checksum mismatch", `command = "` + bin.faulty + `"` + "\n  sha256 = \"" + strings.Repeat("0", 64) + `"`, "does not match the pinned sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "p" {
  %s
  start_timeout = "5s"
}
server "s" {
  topic   = "%s"
  plugins = ["p"]
}
`, tt.plugin, pypeer.UniqueName(t, "bad")))
			h := startHost(t, cfg)
			err := h.WaitExit(t, 60*time.Second)
			if err == nil || !strings.Contains(err.Error(), "exit status 1") {
				t.Fatalf("exit: %v, want exit status 1", err)
			}
			if !strings.Contains(h.Log(), tt.want) {
				t.Fatalf("log lacks %q:\n%s", tt.want, h.Log())
			}
		})
	}
}

// TestPinnedChecksumAccepted: the right sha256 starts the plugin.
func TestPinnedChecksumAccepted(t *testing.T) {
	pypeer.Python(t)
	b, err := os.ReadFile(bin.faulty)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	topic := pypeer.UniqueName(t, "pinned")
	runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
  sha256  = %q
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, hex.EncodeToString(sum[:]), topic)))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	r, err := py.Do(bg(t, time.Minute), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "ok", Timeout: 20})
	if err != nil || string(r.Result) != `"ok"` {
		t.Fatalf("%v %s %s", err, r.Result, r.Msg)
	}
}

// TestMisbehavingPlugin: a panic in a method and a method that hangs past
// the caller's deadline each end that call (failure reply or the caller's
// timeout) and the host keeps serving; a plugin that dies gives failure
// replies, not silence.
func TestMisbehavingPlugin(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "faulty")
	runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
server "s" {
  topic        = %q
  server       = "f1"
  plugins      = ["faulty"]
  call_timeout = "3s"
}
`, bin.faulty, topic)))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 2*time.Minute)
	call := func(method string, args map[string]any, timeout float64) pypeer.Result {
		t.Helper()
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: method, Args: args, Timeout: timeout, CheckIsinstance: []string{"RuntimeError"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	okStill := func() {
		t.Helper()
		if r := call("ok", nil, 20); string(r.Result) != `"ok"` {
			t.Fatalf("host stopped serving: %s %s %s", r.Result, r.ExcClass, r.Msg)
		}
	}
	okStill()

	r := call("panic", nil, 20)
	if r.OK || !r.Isinstance["RuntimeError"] || !strings.Contains(r.Msg, "plugin panic") {
		t.Fatalf("panic: ok=%v %s.%s %q", r.OK, r.ExcModule, r.ExcClass, r.Msg)
	}
	okStill()

	// Past the caller's deadline: the caller times out on its side.
	start := time.Now()
	r = call("hang", map[string]any{"seconds": 4}, 2)
	if r.OK || r.ExcClass != "MessagingTimeout" || time.Since(start) > 10*time.Second {
		t.Fatalf("hang past the caller's deadline: ok=%v %s %q after %v", r.OK, r.ExcClass, r.Msg, time.Since(start))
	}
	okStill()

	// Past the server's call_timeout (the caller waits longer): a failure.
	r = call("hang", map[string]any{"seconds": 5}, 30)
	if r.OK || r.ExcType != "PluginTimeout" {
		t.Fatalf("hang past call_timeout: ok=%v %s %s %q", r.OK, r.ExcClass, r.ExcType, r.Msg)
	}
	okStill()

	// The plugin process dies: the call gets a crash failure at once, and
	// the restarted plugin serves the next call.
	start = time.Now()
	r = call("exit", nil, 30)
	if r.OK || r.ExcType != "PluginCrashed" || time.Since(start) > 5*time.Second {
		t.Fatalf("exit: ok=%v %s %s %q after %v", r.OK, r.ExcClass, r.ExcType, r.Msg, time.Since(start))
	}
	okStill()
}
