package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestMetricsBoundedAndComplete: the method label takes only the methods
// the endpoints describe (30 random names are one "_unknown" series);
// listeners count notifications handled, requeued and dropped; a reload
// that removes a server, a listener and a plugin deletes their series;
// every server's and listener's consumer is ready (status and gauge).
func TestMetricsBoundedAndComplete(t *testing.T) {
	topic, good, bad := pypeer.UniqueName(t, "metrics"), pypeer.UniqueName(t, "mgood"), pypeer.UniqueName(t, "mbad")
	dir := t.TempDir()
	faulty := faultyBuild(t, "v1", "")
	keep := transportBlock() + adminBlock + fmt.Sprintf(`
plugin "svc" {
  command = %[1]q
  env     = { JOURNAL = %[2]q }
}
server "svc" {
  topic   = %[3]q
  plugins = ["svc"]
}
listener "good" {
  topics  = [%[4]q]
  plugins = ["svc"]
}
`, faulty, filepath.Join(dir, "journal"), topic, good)
	gone := fmt.Sprintf(`
plugin "unjournaled" {
  command = %[1]q
  env     = { JOURNAL = %[2]q }
}
server "gone" {
  topic   = "%[3]s-gone"
  plugins = ["unjournaled"]
}
listener "bad" {
  topics       = [%[4]q]
  plugins      = ["unjournaled"]
  max_requeues = 1
}
`, faulty, filepath.Join(dir, "no-such-dir", "journal"), topic, bad)
	cfg := writeConfig(t, keep+gone)
	h := runHost(t, cfg)
	ctx := bg(t, 2*time.Minute)
	c := goClient(t, topic)
	if err := c.Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := c.Call(ctx, nil, fmt.Sprintf("no_such_method_%d", i), nil, nil); err == nil {
			t.Fatal("an unknown method answered")
		}
	}
	if err := goClient(t, topic+"-gone").Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, tp := range []string{good, bad} {
		n, err := client.NewNotifier(tr, "test.metrics", client.Topics(tp))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Info(ctx, map[string]any{}, "test.event", map[string]any{}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]float64{
		`oslohost_rpc_calls_total{method="ok",outcome="ok",server="svc"}`:             1,
		`oslohost_rpc_calls_total{method="_unknown",outcome="rejected",server="svc"}`: 30,
		`oslohost_notifications_total{listener="good",outcome="handled"}`:             1,
		`oslohost_notifications_total{listener="bad",outcome="requeued"}`:             1,
		`oslohost_notifications_total{listener="bad",outcome="dropped"}`:              1,
		`oslohost_rpc_calls_total{method="ok",outcome="ok",server="gone"}`:            1,
		`oslohost_plugin_up{plugin="unjournaled"}`:                                    1,
		`oslohost_consumer_ready{kind="server",name="svc"}`:                           1,
		`oslohost_consumer_ready{kind="server",name="gone"}`:                          1,
		`oslohost_consumer_ready{kind="listener",name="good"}`:                        1,
		`oslohost_consumer_ready{kind="listener",name="bad"}`:                         1,
	}
	waitFor(t, 30*time.Second, "the metrics", func() bool {
		m := h.Metrics(t)
		for k, v := range want {
			if m[k] != v {
				return false
			}
		}
		return true
	})
	st := h.Status(t)
	for _, s := range st.Servers {
		if s.State != "consuming" || s.StateSince == nil {
			t.Errorf("server %s: state %q since %v, want consuming", s.Name, s.State, s.StateSince)
		}
	}
	for _, l := range st.Listeners {
		if l.State != "consuming" {
			t.Errorf("listener %s: state %q, want consuming", l.Name, l.State)
		}
	}
	for k := range h.Metrics(t) {
		if strings.Contains(k, "no_such_method") {
			t.Fatalf("a series per unknown method: %s", k)
		}
	}

	// Remove the server, the listener and the plugin: their series go.
	if err := os.WriteFile(cfg, []byte(keep), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, b := h.Admin(t, "POST", "/v1/reload", ""); code != 200 {
		t.Fatalf("reload: HTTP %d %s", code, b)
	}
	for k := range h.Metrics(t) {
		if strings.Contains(k, `"gone"`) || strings.Contains(k, `"bad"`) || strings.Contains(k, `"unjournaled"`) {
			t.Errorf("a series of a removed block stays: %s", k)
		}
	}
	if m := h.Metrics(t); m[`oslohost_rpc_calls_total{method="ok",outcome="ok",server="svc"}`] != 1 {
		t.Errorf("the kept server's series went")
	}
}
