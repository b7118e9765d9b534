package reliability

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// brokerUser creates a user of the shared broker with a distinctive
// password (deleted at cleanup) and returns its name.
func brokerUser(t *testing.T, password string) string {
	t.Helper()
	name := pypeer.UniqueName(t, "rel-user")
	ctl := func(args ...string) error {
		b, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("rabbitmqctl %s: %w: %s", args[0], err, b)
		}
		return nil
	}
	if err := ctl("add_user", name, password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ctl("delete_user", name) })
	if err := ctl("set_permissions", "-p", "/", name, ".*", ".*", ".*"); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestPasswordNeverShown: the host runs with a transport URL holding a
// distinctive password, once accepted by the broker (a user of its own)
// and once refused (wrong password). The password appears nowhere in its
// log, /v1/status, /metrics, `oslohost validate`'s output or the errors.
func TestPasswordNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "Zq7-s3cr3t-PW-do-not-log"
	user := brokerUser(t, secret)
	check := func(t *testing.T, where, text string) {
		t.Helper()
		for _, s := range []string{secret, "s3cr3t"} {
			if strings.Contains(text, s) {
				t.Errorf("%s shows the password:\n%s", where, text)
			}
		}
	}
	t.Run("accepted", func(t *testing.T) {
		topic := pypeer.UniqueName(t, "rel-secret")
		url := fmt.Sprintf("rabbit://%s:%s@127.0.0.1:5672/", user, secret)
		cfgPath := writeConfig(t, transportBlock(url)+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, topic))
		h := runHost(t, cfgPath)
		tr := dialClient(t, brokerURL(), "client-"+topic)
		c := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))
		if err := c.Call(bg(t, 30*time.Second), nil, "ok", nil, nil); err != nil {
			t.Fatal(err)
		}
		// A reconnect logs the URL and host again.
		pypeer.CloseConnections(t, fmt.Sprintf("oslohost:%d:", h.Pid()))
		waitFor(t, 30*time.Second, "served after reconnect", func() bool { return c.Call(bg(t, 10*time.Second), nil, "ok", nil, nil) == nil })
		_, status := h.Admin(t, "GET", "/v1/status", "")
		_, metrics := h.Admin(t, "GET", "/metrics", "")
		out, _ := exec.Command(bin.host, "validate", cfgPath).CombinedOutput()
		if err := h.Stop(t); err != nil {
			t.Logf("host exit: %v", err)
		}
		check(t, "the log", h.Log())
		check(t, "/v1/status", string(status))
		check(t, "/metrics", string(metrics))
		check(t, "oslohost validate", string(out))
		if !strings.Contains(string(status), user+":***@") {
			t.Errorf("status does not show the redacted URL: %s", status)
		}
		t.Logf("result: password accepted: %d bytes of log, %d of status, %d of metrics, %d of validate output: no password",
			len(h.Log()), len(status), len(metrics), len(out))
	})
	t.Run("refused", func(t *testing.T) {
		url := fmt.Sprintf("rabbit://%s:%s-wrong@127.0.0.1:5672/", user, secret)
		cfgPath := writeConfig(t, transportBlock(url)+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, pypeer.UniqueName(t, "rel-secret")))
		h := startHost(t, cfgPath)
		waitFor(t, 30*time.Second, "a refused login in the log", func() bool {
			return strings.Contains(h.Log(), "broker connection failed") && strings.Contains(h.Log(), "403")
		})
		_, status := h.Admin(t, "GET", "/v1/status", "")
		_, metrics := h.Admin(t, "GET", "/metrics", "")
		_ = h.Stop(t)
		check(t, "the log", h.Log())
		check(t, "/v1/status", string(status))
		check(t, "/metrics", string(metrics))
		t.Logf("result: password refused: %d bytes of log (with the 403 errors), status, metrics: no password", len(h.Log()))
	})
}

// TestAdminLoopbackByDefault: an admin block without listen serves on
// 127.0.0.1:9464 (loopback only), both as loaded and as run.
func TestAdminLoopbackByDefault(t *testing.T) {
	t.Parallel()
	l := &config.Loader{LookupEnv: func(string) (string, bool) { return "", false }}
	cfg, diags := l.LoadBytes("admin.hcl", []byte(transportBlock(brokerURL())+"admin {\n  token = \"t\"\n}\n"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Admin.Listen != "127.0.0.1:9464" {
		t.Fatalf("default admin listen %q, want 127.0.0.1:9464", cfg.Admin.Listen)
	}
	cfg, diags = l.LoadBytes("noadmin.hcl", []byte(transportBlock(brokerURL())))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Admin.Listen != "" {
		t.Fatalf("without an admin block the admin API listens on %q, want off", cfg.Admin.Listen)
	}
	// As run: only if the port is free (another oslohost may use it).
	ln, err := net.Listen("tcp", "127.0.0.1:9464")
	if err != nil {
		t.Logf("127.0.0.1:9464 busy; checked the loaded default only")
		return
	}
	_ = ln.Close()
	topic := pypeer.UniqueName(t, "rel-admin")
	h := runHost(t, writeConfig(t, transportBlock(brokerURL())+"admin {\n  token = \"t0ken\"\n}\n"+fmt.Sprintf(`
plugin "faulty" {
  command = %q
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, topic)))
	if got := h.AdminAddr(t); got != "127.0.0.1:9464" {
		t.Fatalf("admin API on %s, want 127.0.0.1:9464", got)
	}
	code, _ := h.Admin(t, "GET", "/v1/status", "")
	if code != 401 {
		t.Errorf("status without the token: HTTP %d, want 401", code)
	}
	t.Logf("result: admin API: default listen 127.0.0.1:9464, token enforced (HTTP %d without it)", code)
}

// TestPluginEnvironment: a plugin process sees the config's env block and
// only what go-plugin and the host add (GOMAXPROCS on a small machine),
// not the host's own environment.
func TestPluginEnvironment(t *testing.T) {
	t.Parallel()
	topic := pypeer.UniqueName(t, "rel-env")
	cfgPath := writeConfig(t, transportBlock(brokerURL())+adminBlock+fmt.Sprintf(`
plugin "faulty" {
  command = %q
  env = {
    GIVEN_ONE = "1"
    GIVEN_TWO = "two words"
  }
}
server "s" {
  topic   = %q
  plugins = ["faulty"]
}
`, bin.faulty, topic))
	h := startHost(t, cfgPath, "OSLOHOST_RELIABILITY_HOST_ONLY=leak", "AWS_SECRET_ACCESS_KEY=leak")
	select {
	case <-h.Ready():
	case <-time.After(60 * time.Second):
		t.Fatalf("host not ready\n%s", h.Log())
	}
	tr := dialClient(t, brokerURL(), "client-"+topic)
	c := client.New(tr, oslo.Target{Topic: topic}, client.Timeout(20*time.Second))
	var env []string
	if err := c.Call(bg(t, 30*time.Second), nil, "env", nil, &env); err != nil {
		t.Fatal(err)
	}
	var given, added []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GIVEN_ONE" || k == "GIVEN_TWO":
			given = append(given, kv)
		case k == "OSLOHOST_PLUGIN" || strings.HasPrefix(k, "PLUGIN_") || strings.HasPrefix(k, "OSLOHOST_PLUGIN_") ||
			k == "GOMAXPROCS": // the host's choice of Go processors, on a small machine
			added = append(added, k)
		default:
			t.Errorf("plugin sees %q, which the config did not give it", kv)
		}
	}
	if strings.Join(given, ";") != "GIVEN_ONE=1;GIVEN_TWO=two words" {
		t.Errorf("config env in the plugin: %q", given)
	}
	t.Logf("result: plugin environment: the config's %d variables plus %v; nothing of the host's", len(given), added)
}
