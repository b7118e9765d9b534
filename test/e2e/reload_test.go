package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestReloadRefusedWhole: a reload that adds a server and two plugins, one
// of them with a missing binary, and changes a running plugin (its new
// generation starts fine) is refused whole: `oslohost reload` fails with
// the diagnostic (file and line of the broken command; HTTP 422, not 500),
// nothing new serves or shows in status, the changed plugin keeps its
// generation and process. Once the binary is fixed the same reload applies
// in full.
func TestReloadRefusedWhole(t *testing.T) {
	v1 := faultyBuild(t, "v1", "")
	topic, topic2 := pypeer.UniqueName(t, "whole"), pypeer.UniqueName(t, "whole2")
	base := transportBlock() + adminBlock + fmt.Sprintf(`
plugin "svc" {
  command = %q
  %%s
}
server "a" {
  topic   = %q
  plugins = ["svc"]
}
`, v1, topic)
	cfg := writeConfig(t, fmt.Sprintf(base, ""))
	h := runHost(t, cfg)
	before := h.Plugin(t, "svc")

	missing := cfg + ".missing-plugin"
	added := fmt.Sprintf(base, `env = { CHANGED = "1" }`) + fmt.Sprintf(`
plugin "extra" {
  command = %q
}
plugin "broken" {
  command = %q
}
server "b" {
  topic   = %q
  plugins = ["extra", "broken"]
}
`, v1, missing, topic2)
	if err := os.WriteFile(cfg, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, t.TempDir(), "reload", "--address", h.AdminAddr(t))
	brokenLine := strings.Count(added[:strings.Index(added, missing)], "\n") + 1
	for _, want := range []string{"reload refused", "HTTP 422", fmt.Sprintf("%s:%d:", cfg, brokenLine), `plugin "broken"`, "no such file"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Fatalf("reload: exit %d stdout %q stderr %q; want exit 1 and %q", code, stdout, stderr, want)
		}
	}
	st := h.Status(t)
	if len(st.Servers) != 1 || st.Servers[0].Name != "a" || len(st.Plugins) != 1 {
		t.Fatalf("status after a refused reload: %+v", st)
	}
	if p := h.Plugin(t, "svc"); p.Generation != before.Generation || p.PID != before.PID || p.State != "serving" {
		t.Fatalf("svc after a refused reload: %+v, before %+v", p, before)
	}
	// Nothing consumes topic2: a call there times out.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := goClient(t, topic2).Prepare(client.Timeout(2*time.Second)).Call(ctx, nil, "ok", nil, nil); err == nil {
		t.Fatal("the refused server b answered")
	}
	if err := goClient(t, topic).Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatalf("server a after a refused reload: %v", err)
	}
	if log := h.Log(); strings.Contains(log, "in part") || !strings.Contains(log, "reload refused") {
		t.Fatalf("log:\n%s", log)
	}

	// Fixed, the same reload applies in full.
	install(t, v1, missing)
	code, stdout, _ = cli(t, t.TempDir(), "reload", "--address", h.AdminAddr(t))
	if code != 0 || !strings.Contains(stdout, `"servers_started"`) || !strings.Contains(stdout, `"plugins_swapped"`) {
		t.Fatalf("reload after the fix: exit %d stdout %q", code, stdout)
	}
	if err := goClient(t, topic2).Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatalf("server b after the reload: %v", err)
	}
	if p := h.Plugin(t, "svc"); p.Generation == before.Generation {
		t.Fatalf("svc not swapped: %+v", p)
	}
	if !strings.Contains(h.Log(), `reloaded: plugins_started=["broken", "extra"]`) {
		t.Fatalf("the reload result is not logged as fields:\n%s", h.Log())
	}
}
