package cli

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// commandTimeout bounds one invocation of the built binary.
const commandTimeout = 60 * time.Second

// buildOslohost builds the real binary with a version stamped in.
func buildOslohost(t *testing.T) string {
	t.Helper()
	return buildBinary(t, "./cmd/oslohost", "-X github.com/oslohost/oslohost/internal/cli.Version=v9.9.9-test")
}

// oslohost runs the built binary as a user types it and returns its exit
// code and output.
func oslohost(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("oslohost %s: %v (stderr: %s)", strings.Join(args, " "), err, errb.String())
	}
	t.Logf("$ oslohost %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

func TestBinaryVersionAndCall(t *testing.T) {
	bin := buildOslohost(t)

	code, stdout, _ := oslohost(t, bin, "version")
	want := "oslohost v9.9.9-test (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if code != 0 || stdout != want {
		t.Errorf("version: exit %d, stdout %q; want 0, %q", code, stdout, want)
	}

	code, _, stderr := oslohost(t, bin, "call", "--topic")
	if code != ExitUsage || !strings.Contains(stderr, "Error: flag needs an argument: --topic") {
		t.Errorf("call --topic: exit %d, stderr %q; want a usage error", code, stderr)
	}

	srv := pypeer.StartServer(t, pypeer.ServerOptions{Topic: pypeer.UniqueName(t, "clibin")})
	o := srv.Options()
	code, stdout, _ = oslohost(t, bin, "call", "--url", o.URL, "--topic", o.Topic, "--timeout", "20s", "echo", "value=hello", "n=1")
	if code != 0 {
		t.Fatalf("call: exit %d", code)
	}
	if !regexp.MustCompile(`(?s)^\{\n  .*"value": "hello"`).MatchString(stdout) || !strings.Contains(stdout, `"n": 1`) {
		t.Errorf("call: stdout %q, want indented JSON with the echoed value", stdout)
	}

	code, _, stderr = oslohost(t, bin, "call", "--url", o.URL, "--topic", o.Topic, "--timeout", "20s", "fail_value", "msg=nope")
	if code != 1 || !strings.HasPrefix(stderr, "Error: remote exception builtins.ValueError: nope") {
		t.Errorf("call fail_value: exit %d, stderr %q", code, stderr)
	}
}

// TestBinaryRun runs `oslohost run` with the SDK's hello plugin, calls it,
// sends SIGHUP (a reload of the unchanged config) and SIGINT (graceful
// stop, exit 0).
func TestBinaryRun(t *testing.T) {
	pypeer.Python(t) // the same preconditions as the other broker tests
	bin := buildOslohost(t)
	cfg, topic := writeHelloConfig(t, `
log {
  level = "debug"
}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", cfg)
	stderr := newSyncBuffer()
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel() // kills the host if the test ended early
		<-exited
		t.Logf("oslohost run stderr:\n%s", stderr.String())
	})

	waitFor := func(s string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if err := stderr.waitFor(wctx, s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("host ready")

	code, stdout, _ := oslohost(t, bin, "call", "--url", pypeer.URL(), "--topic", topic, "--timeout", "20s", "hello", "name=world")
	if code != 0 || stdout != "\"hello, world\"\n" {
		t.Errorf("call hello: exit %d, stdout %q", code, stdout)
	}
	code, stdout, _ = oslohost(t, bin, "ping", "--url", pypeer.URL(), "--topic", topic, "--server", "clitest")
	if code != 0 || !strings.HasPrefix(stdout, "pong from "+topic+".clitest") {
		t.Errorf("ping: exit %d, stdout %q", code, stdout)
	}

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("reloaded")
	code, _, _ = oslohost(t, bin, "call", "--url", pypeer.URL(), "--topic", topic, "--timeout", "20s", "hello", "name=again")
	if code != 0 {
		t.Errorf("call after SIGHUP: exit %d", code)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("oslohost run after SIGINT: %v, want exit 0", err)
		}
	case <-ctx.Done():
		t.Fatal("oslohost run did not stop after SIGINT")
	}
	if s := stderr.String(); !strings.Contains(s, "host stopped") {
		t.Errorf("stderr lacks %q", "host stopped")
	}
}
