// Package hostproc runs the real `oslohost run` as a child process for the
// end-to-end and reliability tests, with helpers for their configs and for
// the host's admin API.
package hostproc

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

// AdminBlock puts the admin API on a free loopback port (the default, 9464,
// would collide between hosts of parallel tests).
const AdminBlock = "admin {\n  listen = \"127.0.0.1:0\"\n}\n"

// TransportBlock is a transport block for url and a debug log block.
func TransportBlock(url string) string {
	return fmt.Sprintf("transport {\n  url = %q\n}\nlog {\n  level = \"debug\"\n}\n", url)
}

// WriteConfig writes an HCL config into a temp dir and returns its path.
func WriteConfig(t testing.TB, hcl string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Proc is a running `oslohost run`.
type Proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    strings.Builder
	ready  chan struct{}
	exited chan struct{}
	err    error
}

// Run starts `HOST run CONFIG` (with env added to this process's
// environment) and waits (bounded) until it logs "host ready". It is
// stopped with SIGTERM at cleanup.
func Run(t testing.TB, hostBin, config string, env ...string) *Proc {
	t.Helper()
	h := Start(t, hostBin, config, env...)
	select {
	case <-h.ready:
	case <-h.exited:
		t.Fatalf("oslohost exited before it was ready: %v\n%s", h.err, h.Log())
	case <-time.After(60 * time.Second):
		t.Fatalf("oslohost not ready after 60s\n%s", h.Log())
	}
	return h
}

// Start is Run without waiting for "host ready". At cleanup the host is
// stopped, a data race it reported (a -race build) fails the test, and a
// failed test logs the end of the host's log.
func Start(t testing.TB, hostBin, config string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(hostBin, "run", config)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &Proc{cmd: cmd, ready: make(chan struct{}), exited: make(chan struct{})}
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
		_ = h.Stop(t)
		if strings.Contains(h.Log(), "WARNING: DATA RACE") {
			t.Errorf("the host reported a data race")
		}
		if t.Failed() {
			t.Logf("oslohost log:\n%s", Tail(h.Log(), 300))
		}
	})
	return h
}

// lineWriter adds the host's stdout to its log (it should write none).
type lineWriter struct{ h *Proc }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	w.h.log.Write(p)
	return len(p), nil
}

// Tail is the last lines of s.
func Tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// Log is everything the host wrote so far.
func (h *Proc) Log() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.log.String()
}

// Ready is closed once the host has logged "host ready".
func (h *Proc) Ready() <-chan struct{} { return h.ready }

// Process is the host's process (for signals).
func (h *Proc) Process() *os.Process { return h.cmd.Process }

// Pid is the host's process id.
func (h *Proc) Pid() int { return h.cmd.Process.Pid }

// Stop sends SIGTERM and waits (bounded) for the exit; it returns the exit
// error.
func (h *Proc) Stop(t testing.TB) error {
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

// WaitExit waits (bounded) for the host to exit by itself.
func (h *Proc) WaitExit(t testing.TB, d time.Duration) error {
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

// AdminAddr is the admin API's host:port, from the log.
func (h *Proc) AdminAddr(t testing.TB) string {
	t.Helper()
	m := adminAddrRE.FindStringSubmatch(h.Log())
	if m == nil {
		t.Fatalf("no admin API address in the log:\n%s", h.Log())
	}
	return m[1]
}

// httpClient keeps no idle connections (goleak).
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

// Admin sends a request to the admin API, with a bearer token unless token
// is ""; it returns the status code and body.
func (h *Proc) Admin(t testing.TB, method, path, token string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+h.AdminAddr(t)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Status is /v1/status decoded.
func (h *Proc) Status(t testing.TB) host.Status {
	t.Helper()
	code, b := h.Admin(t, "GET", "/v1/status", "")
	if code != 200 {
		t.Fatalf("status: HTTP %d %s", code, b)
	}
	var st host.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// Plugin is the status of plugin name.
func (h *Proc) Plugin(t testing.TB, name string) host.PluginStatus {
	t.Helper()
	for _, p := range h.Status(t).Plugins {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plugin %q in status", name)
	return host.PluginStatus{}
}

// Metrics scrapes /metrics into name{labels} -> value.
func (h *Proc) Metrics(t testing.TB) map[string]float64 {
	t.Helper()
	code, b := h.Admin(t, "GET", "/metrics", "")
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

// Swap asks the admin API to reload (swap) plugin name.
func (h *Proc) Swap(t testing.TB, name string) error {
	t.Helper()
	code, b := h.Admin(t, "POST", "/v1/plugins/"+name+"/reload", "")
	if code != 200 {
		return fmt.Errorf("swap %s: HTTP %d %s", name, code, b)
	}
	return nil
}

// WaitFor polls cond every 50 ms until it holds or d passes; it returns
// how long that took.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
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

// Context is a context that ends after d or with the test.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Build builds the given packages into dir (with the race detector when
// race is set), bounded by ctx.
func Build(ctx context.Context, dir string, race bool, pkgs ...string) error {
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
