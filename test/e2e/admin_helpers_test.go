package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/host"
)

// variants caches faulty-plugin builds by their -ldflags -X settings.
var variants struct {
	sync.Mutex
	paths map[string]string
}

// faultyBuild returns the path of a faulty plugin built with
// -X main.version=version -X main.mode=mode.
func faultyBuild(t *testing.T, version, mode string) string {
	t.Helper()
	variants.Lock()
	defer variants.Unlock()
	key := version + "/" + mode
	if p, ok := variants.paths[key]; ok {
		return p
	}
	if variants.paths == nil {
		variants.paths = map[string]string{}
	}
	out := filepath.Join(bin.dir, fmt.Sprintf("faulty-%s-%s", version, mode))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out,
		"-ldflags", fmt.Sprintf("-X main.version=%s -X main.mode=%s", version, mode),
		"github.com/oslohost/oslohost/test/e2e/testdata/faulty")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build faulty %s: %v\n%s", key, err, b)
	}
	variants.paths[key] = out
	return out
}

// install copies src to dst atomically (write aside, rename), as a
// deployment would.
func install(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

var adminAddrRE = regexp.MustCompile(`admin API listening: addr=(\S+)`)

// adminAddr is the host's admin API address, from its log.
func (h *hostProc) adminAddr(t *testing.T) string {
	t.Helper()
	m := adminAddrRE.FindStringSubmatch(h.Log())
	if m == nil {
		t.Fatalf("no admin API address in the log:\n%s", h.Log())
	}
	return "http://" + m[1]
}

// admin sends a request to the admin API and returns the status code and
// body.
func (h *hostProc) admin(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.adminAddr(t)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// status is /v1/status decoded.
func (h *hostProc) status(t *testing.T) host.Status {
	t.Helper()
	code, b := h.admin(t, "GET", "/v1/status", "")
	if code != 200 {
		t.Fatalf("status: HTTP %d %s", code, b)
	}
	var st host.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (h *hostProc) plugin(t *testing.T, name string) host.PluginStatus {
	t.Helper()
	for _, p := range h.status(t).Plugins {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no plugin %q in status", name)
	return host.PluginStatus{}
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
