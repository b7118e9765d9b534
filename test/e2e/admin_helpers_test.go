package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
