package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// bin holds the binaries built once for the package.
var bin struct {
	dir                                    string
	host, hello, echo, calc, faulty, audit string
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "oslohost-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", dir + string(os.PathSeparator)}
		if os.Getenv("OSLOHOST_E2E_RACE") != "" {
			args = append(args, "-race") // the host and plugins under the race detector
		}
		cmd := exec.CommandContext(ctx, "go", append(args,
			"github.com/oslohost/oslohost/cmd/oslohost",
			"github.com/oslohost/oslohost/plugins/examples/hello",
			"github.com/oslohost/oslohost/plugins/examples/echo",
			"github.com/oslohost/oslohost/plugins/examples/calc",
			"github.com/oslohost/oslohost/plugins/examples/audit",
			"github.com/oslohost/oslohost/test/e2e/testdata/faulty")...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build binaries:", err)
			return 1
		}
		bin.dir = dir
		bin.host = filepath.Join(dir, "oslohost")
		bin.hello = filepath.Join(dir, "hello")
		bin.echo = filepath.Join(dir, "echo")
		bin.calc = filepath.Join(dir, "calc")
		bin.faulty = filepath.Join(dir, "faulty")
		bin.audit = filepath.Join(dir, "audit")
		return m.Run()
	}())
}

// writeConfig writes an HCL config into a temp dir and returns its path.
func writeConfig(t *testing.T, hcl string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// transportBlock is the transport and log blocks every test config starts
// with; see adminBlock.
func transportBlock() string {
	return fmt.Sprintf("transport {\n  url = %q\n}\nlog {\n  level = \"debug\"\n}\n", pypeer.URL())
}

// adminBlock puts the admin API on a free port (the default, 9464, would
// collide between hosts of parallel tests).
const adminBlock = "admin {\n  listen = \"127.0.0.1:0\"\n}\n"

// hostProc is a running `oslohost run`.
type hostProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	ready  chan struct{}
	exited chan struct{}
	err    error
}

// runHost starts `oslohost run CONFIG` and waits until it logs "host ready"
// (bounded). It is stopped with SIGTERM at cleanup.
func runHost(t *testing.T, config string) *hostProc {
	t.Helper()
	h := startHost(t, config)
	select {
	case <-h.ready:
	case <-h.exited:
		t.Fatalf("oslohost exited before it was ready: %v\n%s", h.err, h.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("oslohost not ready after 60s\n%s", h.Log())
	}
	return h
}

func startHost(t *testing.T, config string) *hostProc {
	t.Helper()
	cmd := exec.Command(bin.host, "run", config)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	h := &hostProc{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			h.mu.Lock()
			h.log.WriteString(line + "\n")
			h.mu.Unlock()
			if strings.Contains(line, "host ready") {
				once.Do(func() { close(h.ready) })
			}
		}
	}()
	go func() {
		<-scanned
		h.err = cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		h.stop(t)
		if strings.Contains(h.Log(), "WARNING: DATA RACE") {
			t.Errorf("the host reported a data race")
		}
		if t.Failed() {
			t.Logf("oslohost log:\n%s", h.Log())
		}
	})
	return h
}

// Log is everything the host wrote to stderr so far.
func (h *hostProc) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

// stop sends SIGTERM and waits (bounded) for the exit; returns the exit error.
func (h *hostProc) stop(t *testing.T) error {
	select {
	case <-h.exited:
		return h.err
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
		return h.err
	case <-time.After(45 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.exited
		t.Errorf("oslohost did not exit within 45s of SIGTERM")
		return h.err
	}
}

// waitExit waits (bounded) for the host to exit by itself.
func (h *hostProc) waitExit(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(d):
		t.Fatalf("oslohost still running after %v\n%s", d, h.Log())
		return nil
	}
}

func bg(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
