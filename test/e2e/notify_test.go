package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// auditRecord is what the audit plugin reports per delivery.
type auditRecord struct {
	Priority    string
	PublisherID string `json:"publisher_id"`
	EventType   string `json:"event_type"`
	MessageID   string `json:"message_id"`
	Redelivered bool
	Attempts    int
	Result      string
}

// TestNotificationsThroughPlugins: a Python Notifier's notifications reach
// the audit plugin through listener blocks (every priority; a filter; two
// listeners in one pool share; a separate pool gets its own copy; a batch
// listener), and a requeue leads to a redelivery.
func TestNotificationsThroughPlugins(t *testing.T) {
	pypeer.Python(t)
	topic := pypeer.UniqueName(t, "ntf")
	rpc := pypeer.UniqueName(t, "ntfrpc")
	pool := pypeer.UniqueName(t, "pool")
	cfg := transportBlock() + adminBlock
	for _, p := range []string{"all", "filtered", "shareA", "shareB", "batched"} {
		cfg += fmt.Sprintf("plugin %q {\n  command = %q\n}\n", p, bin.audit)
		cfg += fmt.Sprintf("server %q {\n  topic = \"%s-%s\"\n  plugins = [%q]\n}\n", p, rpc, p, p)
	}
	cfg += fmt.Sprintf(`
listener "all" {
  topics  = [%[1]q]
  pool    = "%[2]s-all"
  plugins = ["all"]
}
listener "filtered" {
  topics      = [%[1]q]
  pool        = "%[2]s-filtered"
  event_types = ["compute\\.instance\\..*"]
  plugins     = ["filtered"]
}
listener "shareA" {
  topics  = [%[1]q]
  pool    = "%[2]s-shared"
  plugins = ["shareA"]
}
listener "shareB" {
  topics  = [%[1]q]
  pool    = "%[2]s-shared"
  plugins = ["shareB"]
}
listener "batched" {
  topics  = [%[1]q]
  pool    = "%[2]s-batched"
  plugins = ["batched"]
  batch {
    size    = 4
    timeout = "300ms"
  }
}
`, topic, pool)
	runHost(t, writeConfig(t, cfg))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 3*time.Minute)

	priorities := []string{"audit", "debug", "info", "warn", "error", "critical", "sample"}
	for _, p := range priorities {
		r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpNotify, Topics: []string{topic}, Priority: p,
			PublisherID: "compute.host1", EventType: "compute.instance." + p, Payload: map[string]any{"p": p}})
		if err != nil || !r.OK {
			t.Fatalf("notify %s: %v %s", p, err, r.Msg)
		}
	}
	r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpNotify, Topics: []string{topic}, Priority: "info",
		PublisherID: "image.host2", EventType: "image.upload", Payload: map[string]any{"requeue": true}})
	if err != nil || !r.OK {
		t.Fatalf("notify requeue: %v %s", err, r.Msg)
	}
	const sent = 8

	tr, err := client.Dial(ctx, client.Config{URL: pypeer.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	list := func(plugin string) []auditRecord {
		t.Helper()
		c := client.New(tr, oslo.Target{Topic: rpc + "-" + plugin, Namespace: "audit", Version: "1.0"}, client.Timeout(20*time.Second))
		var recs []auditRecord
		if err := c.Call(ctx, nil, "list", nil, &recs); err != nil {
			t.Fatalf("list %s: %v", plugin, err)
		}
		return recs
	}
	handled := func(recs []auditRecord) int {
		n := 0
		for _, r := range recs {
			if r.Result == "handled" {
				n++
			}
		}
		return n
	}
	waitFor(t, 30*time.Second, "every notification handled by the pool-less-filter listener", func() bool { return handled(list("all")) == sent })
	all := list("all")
	seen := map[string]bool{}
	var requeued, redelivered bool
	for _, r := range all {
		seen[r.Priority] = true
		if r.EventType == "image.upload" && r.Result == "requeue" {
			requeued = true
		}
		if r.EventType == "image.upload" && r.Result == "handled" && r.Redelivered && r.Attempts == 2 {
			redelivered = true
		}
	}
	for _, p := range priorities {
		if !seen[p] {
			t.Errorf("priority %s never reached the plugin", p)
		}
	}
	if !requeued || !redelivered {
		t.Errorf("requeue then redelivery not seen: %+v", all)
	}
	waitFor(t, 30*time.Second, "the filtered listener gets only compute.instance.*", func() bool { return handled(list("filtered")) == sent-1 })
	for _, r := range list("filtered") {
		if r.EventType == "image.upload" {
			t.Fatalf("the filter let image.upload through")
		}
	}
	waitFor(t, 30*time.Second, "two listeners of one pool share the notifications", func() bool {
		return handled(list("shareA"))+handled(list("shareB")) == sent
	})
	waitFor(t, 30*time.Second, "the batch listener gets everything", func() bool { return handled(list("batched")) == sent })
}

// TestNotificationsSurviveSwapsAndCrash: notifications flow while the
// handling plugin is swapped several times and crashes once mid-handling;
// every notification is handled (acked only after handling, so the one the
// crash interrupted is redelivered), none is lost.
func TestNotificationsSurviveSwapsAndCrash(t *testing.T) {
	pypeer.Python(t)
	dir := t.TempDir()
	journal := dir + "/journal"
	path := dir + "/svc"
	install(t, faultyBuild(t, "v1", ""), path)
	topic := pypeer.UniqueName(t, "ntfswap")
	h := runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "svc" {
  command = %q
  env     = { JOURNAL = %q }
}
listener "journal" {
  topics  = [%q]
  plugins = ["svc"]
}
`, path, journal, topic)))
	py := pypeer.StartClient(t, pypeer.ClientOptions{})
	ctx := bg(t, 3*time.Minute)
	const n = 60
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			payload := map[string]any{"i": i}
			if i == n/2 {
				payload["crash"] = true
			}
			r, err := py.Do(ctx, pypeer.Command{Op: pypeer.OpNotify, Topics: []string{topic}, Priority: "info",
				PublisherID: "e2e", EventType: "e2e.flow", Payload: payload})
			if err == nil && !r.OK {
				err = fmt.Errorf("notify %d: %s", i, r.Msg)
			}
			if err != nil {
				sent <- err
				return
			}
			time.Sleep(20 * time.Millisecond) // a steady flow across the swaps
		}
		sent <- nil
	}()
	for i := 0; i < 4; i++ {
		if code, body := h.Admin(t, "POST", "/v1/plugins/svc/reload", ""); code != 200 {
			t.Fatalf("swap %d: HTTP %d %s", i, code, body)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	ids := func() map[string]int {
		b, _ := os.ReadFile(journal)
		m := map[string]int{}
		for _, l := range strings.Fields(string(b)) {
			m[l]++
		}
		return m
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("all %d notifications handled", n), func() bool { return len(ids()) == n })
	if p := h.Plugin(t, "svc"); p.Swaps != 4 || p.State != "serving" {
		t.Fatalf("status: %+v (want 4 swaps, serving)", p)
	}
	if m, _ := filepath.Glob(journal + ".*.crashed"); len(m) != 1 {
		t.Fatalf("the plugin never crashed mid-handling (markers %v)", m)
	}
	twice := 0
	for _, c := range ids() {
		if c > 1 {
			twice++
		}
	}
	t.Logf("%d notifications handled across 4 swaps and 1 crash; %d handled twice", n, twice)
}
