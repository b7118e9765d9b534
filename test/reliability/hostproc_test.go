package reliability

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/host"
)

// This is a trimmed copy of the test/e2e harness (runHost, admin helpers):
// the real `oslohost run` as a child process.

// hostProc is a running `oslohost run`.
type hostProc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	ready  chan struct{}
	exited chan struct{}
	err    error
}

// adminBlock puts the admin API on a free loopback port.
const adminBlock = "admin {\n  listen = \"127.0.0.1:0\"\n}\n"

// transportBlock is a transport block for url with a debug log.
func transportBlock(url string) string {
	return fmt.Sprintf("transport {\n  url = %q\n}\nlog {\n  level = \"debug\"\n}\n", url)
}

// writeConfig writes an HCL config into a temp dir and returns its path.
func writeConfig(t testing.TB, hcl string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runHost starts `oslohost run CONFIG` and waits (bounded) until it logs
// "host ready". It is stopped with SIGTERM at cleanup.
func runHost(t testing.TB, config string) *hostProc {
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

func startHost(t testing.TB, config string, env ...string) *hostProc {
	t.Helper()
	cmd := exec.Command(bin.host, "run", config)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &hostProc{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stdout = &lineWriter{h: h}
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
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned
		h.err = cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		h.stop(t)
		if t.Failed() {
			t.Logf("oslohost log:\n%s", tail(h.Log(), 200))
		}
	})
	return h
}

// lineWriter adds the host's stdout to its log (it should write none).
type lineWriter struct{ h *hostProc }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	w.h.log.Write(p)
	return len(p), nil
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// Log is everything the host wrote so far.
func (h *hostProc) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

// Pid is the host's process id.
func (h *hostProc) Pid() int { return h.cmd.Process.Pid }

// stop sends SIGTERM and waits (bounded) for the exit.
func (h *hostProc) stop(t testing.TB) error {
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
func (h *hostProc) waitExit(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-h.exited:
		return h.err
	case <-time.After(d):
		t.Fatalf("oslohost still running after %v\n%s", d, h.Log())
		return nil
	}
}

var adminAddrRE = regexp.MustCompile(`admin API listening: addr=(\S+)`)

// adminAddr is the admin API's address, from the log.
func (h *hostProc) adminAddr(t testing.TB) string {
	t.Helper()
	m := adminAddrRE.FindStringSubmatch(h.Log())
	if m == nil {
		t.Fatalf("no admin API address in the log:\n%s", h.Log())
	}
	return m[1]
}

// httpClient keeps no idle connections (goleak).
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

// admin sends a request to the admin API; it returns the status and body.
func (h *hostProc) admin(t testing.TB, method, path string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+h.adminAddr(t)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// status is /v1/status decoded.
func (h *hostProc) status(t testing.TB) host.Status {
	t.Helper()
	code, b := h.admin(t, "GET", "/v1/status")
	if code != 200 {
		t.Fatalf("status: HTTP %d %s", code, b)
	}
	var st host.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (h *hostProc) plugin(t testing.TB, name string) host.PluginStatus {
	t.Helper()
	for _, p := range h.status(t).Plugins {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plugin %q in status", name)
	return host.PluginStatus{}
}

// metrics scrapes /metrics into name{labels} -> value.
func (h *hostProc) metrics(t testing.TB) map[string]float64 {
	t.Helper()
	code, b := h.admin(t, "GET", "/metrics")
	if code != 200 {
		t.Fatalf("metrics: HTTP %d %s", code, b)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// swap asks the admin API to reload (swap) plugin name.
func (h *hostProc) swap(t testing.TB, name string) error {
	t.Helper()
	code, b := h.admin(t, "POST", "/v1/plugins/"+name+"/reload")
	if code != 200 {
		return fmt.Errorf("swap %s: HTTP %d %s", name, code, b)
	}
	return nil
}

// rssKB is a process's resident set size in kB, from /proc/PID/status.
func rssKB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// waitFor polls cond every 50 ms until it holds or d passes; it returns
// how long that took.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func bg(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
