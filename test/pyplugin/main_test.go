package pyplugin

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/oslohost/oslohost/test/hostproc"
	"github.com/oslohost/oslohost/test/pypeer"
)

var paths struct {
	host     string // the oslohost binary
	sdk      string // sdk/python
	testdata string // this package's testdata (the endpoint modules)
	calc     string // plugins/examples/python-calc
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "oslohost-pyplugin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := hostproc.Build(ctx, dir, os.Getenv("OSLOHOST_E2E_RACE") != "",
			"github.com/oslohost/oslohost/cmd/oslohost"); err != nil {
			fmt.Fprintln(os.Stderr, "build oslohost:", err)
			return 1
		}
		root, err := filepath.Abs("../..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		paths.host = filepath.Join(dir, "oslohost")
		paths.sdk = filepath.Join(root, "sdk", "python")
		paths.testdata = filepath.Join(root, "test", "pyplugin", "testdata")
		paths.calc = filepath.Join(root, "plugins", "examples", "python-calc")
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}())
}

// pluginBlock declares a Python plugin the documented way: the interpreter
// as command, the SDK's runner module with the endpoint factory as args,
// and PYTHONPATH (the SDK and the endpoint module's directory) in env.
func pluginBlock(name, moduleDir, factory, extraArgs, config string) string {
	var args strings.Builder
	fmt.Fprintf(&args, "%q, %q, %q, %q", "-m", "oslohost_plugin", "--endpoint", factory)
	if extraArgs != "" {
		args.WriteString(", " + extraArgs)
	}
	if config == "" {
		config = "{}"
	}
	return fmt.Sprintf(`
plugin %q {
  command = "/usr/bin/python3"
  args    = [%s]
  env = {
    PYTHONPATH              = %q
    PYTHONDONTWRITEBYTECODE = "1"
  }
  config = %s
}
`, name, args.String(), paths.sdk+":"+moduleDir, config)
}

// serverBlock serves plugin on topic as server.
func serverBlock(name, topic, server, plugin string) string {
	return fmt.Sprintf(`
server %q {
  topic   = %q
  server  = %q
  plugins = [%q]
}
`, name, topic, server, plugin)
}

// runHost runs `oslohost run` over the transport block, the admin block and
// blocks, until "host ready".
func runHost(t *testing.T, blocks string) *hostproc.Proc {
	t.Helper()
	pypeer.Python(t)
	cfg := hostproc.TransportBlock(pypeer.URL()) + hostproc.AdminBlock + blocks
	return hostproc.Run(t, paths.host, hostproc.WriteConfig(t, cfg))
}

// osloServer is a Python process serving endpoints with oslo's own
// get_rpc_server (testdata/oslo_endpoint_server.py).
type osloServer struct {
	cmd    *exec.Cmd
	stderr *lockedBuf
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startOsloServer serves factory (module:attr in moduleDir) with config
// (JSON) on topic/server with oslo's get_rpc_server; it returns once the
// server started (bounded) and stops it at cleanup.
func startOsloServer(t *testing.T, moduleDir, factory, config, topic, server string, extra ...string) *osloServer {
	t.Helper()
	return startPythonServer(t, filepath.Join(paths.testdata, "oslo_endpoint_server.py"), moduleDir,
		append([]string{"--url", pypeer.URL(), "--topic", topic, "--server", server,
			"--factory", factory, "--config", config}, extra...)...)
}

// startPythonServer runs script with PYTHONPATH moduleDir until it prints
// READY (bounded); it is stopped (stdin closed, SIGTERM) at cleanup.
func startPythonServer(t *testing.T, script, moduleDir string, scriptArgs ...string) *osloServer {
	t.Helper()
	py := pypeer.Python(t)
	args := append([]string{"-u", script}, scriptArgs...)
	cmd := exec.Command(py, args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+moduleDir, "PYTHONDONTWRITEBYTECODE=1")
	s := &osloServer{cmd: cmd, stderr: &lockedBuf{}}
	cmd.Stderr = s.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
			}
		}
		ready <- false
	}()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", filepath.Base(script), hostproc.Tail(s.stderr.String(), 40))
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("oslo server exited before READY:\n%s", s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("oslo server not READY within 60s:\n%s", s.stderr.String())
	}
	return s
}
