package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

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
	for k := range h.Metrics(t) {
		if strings.Contains(k, `plugin="broken"`) || strings.Contains(k, `plugin="extra"`) || strings.Contains(k, `server="b"`) {
			t.Errorf("a series of the refused reload: %s", k)
		}
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

// TestReloadRefusedWhenAServerCannotStart: a reload whose new plugin and
// one new server start but whose other new server cannot (its exchange
// exists on the broker with another type) is refused whole: the started
// server stops consuming again, the new plugin is stopped, their metric
// series are gone.
func TestReloadRefusedWhenAServerCannotStart(t *testing.T) {
	v1 := faultyBuild(t, "v1", "")
	topic, topicC := pypeer.UniqueName(t, "srvfail"), pypeer.UniqueName(t, "srvfailc")
	exchange := pypeer.UniqueName(t, "headers-ex")
	conn, err := amqp.Dial(strings.Replace(pypeer.URL(), "rabbit://", "amqp://", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "headers", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	base := transportBlock() + adminBlock + fmt.Sprintf(`
plugin "svc" {
  command = %q
}
server "a" {
  topic   = %q
  plugins = ["svc"]
}
`, v1, topic)
	cfg := writeConfig(t, base)
	h := runHost(t, cfg)
	if err := os.WriteFile(cfg, []byte(base+fmt.Sprintf(`
plugin "extra" {
  command = %q
}
server "c" {
  topic   = %q
  plugins = ["extra"]
}
server "b" {
  topic    = "%s-b"
  exchange = %q
  plugins  = ["extra"]
}
`, v1, topicC, topic, exchange)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := h.Admin(t, "POST", "/v1/reload", "")
	if code != 422 || !strings.Contains(string(body), `server \"b\"`) {
		t.Fatalf("reload: HTTP %d %s; want 422 naming server b", code, body)
	}
	st := h.Status(t)
	if len(st.Servers) != 1 || len(st.Plugins) != 1 {
		t.Fatalf("status after a refused reload: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := goClient(t, topicC).Prepare(client.Timeout(2*time.Second)).Call(ctx, nil, "ok", nil, nil); err == nil {
		t.Fatal("server c of the refused reload answered")
	}
	for k := range h.Metrics(t) {
		if strings.Contains(k, `server="c"`) || strings.Contains(k, `server="b"`) || strings.Contains(k, `plugin="extra"`) {
			t.Errorf("a series of the refused reload: %s", k)
		}
	}
}

// TestRunFailsOnRefusedDeclaration: a server whose declaration the broker
// refuses (an exchange of another type) stops `oslohost run` with the
// broker's reason, rather than retrying it forever unready.
func TestRunFailsOnRefusedDeclaration(t *testing.T) {
	exchange := pypeer.UniqueName(t, "headers-ex")
	conn, err := amqp.Dial(strings.Replace(pypeer.URL(), "rabbit://", "amqp://", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "headers", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	h := startHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "svc" {
  command = %q
}
server "s" {
  topic    = %q
  exchange = %q
  plugins  = ["svc"]
}
`, faultyBuild(t, "v1", ""), pypeer.UniqueName(t, "refdecl"), exchange)))
	if err := h.WaitExit(t, 60*time.Second); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("exit: %v, want exit status 1", err)
	}
	if !strings.Contains(h.Log(), "PRECONDITION_FAILED - inequivalent arg 'type'") {
		t.Fatalf("the log lacks the broker's reason:\n%s", h.Log())
	}
}
