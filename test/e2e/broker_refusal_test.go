package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/host"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestBrokerRefusalNotRetried: call, cast and bench with a password or a
// virtual host the broker refuses fail at the first attempt, with the
// reason, long before --connect-timeout.
func TestBrokerRefusalNotRetried(t *testing.T) {
	wrongPW := strings.Replace(pypeer.URL(), "guest:guest@", "guest:wrong-pw@", 1)
	wrongVhost := strings.TrimSuffix(pypeer.URL(), "/") + "/" + pypeer.UniqueName(t, "novhost")
	if wrongPW == pypeer.URL() {
		t.Skip("the test broker's URL has no guest:guest to spoil")
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"call password", []string{"call", "--url", wrongPW, "--topic", "refused", "ok"}, "refused the login"},
		{"cast vhost", []string{"cast", "--url", wrongVhost, "--topic", "refused", "ok"}, "refused the virtual host"},
		{"bench password", []string{"bench", "--url", wrongPW, "--topic", "refused", "--duration", "1s"}, "refused the login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			code, _, stderr := cli(t, t.TempDir(), append(tt.args, "--connect-timeout", "60s")...)
			took := time.Since(start)
			if code != 1 || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "wrong-pw") {
				t.Fatalf("exit %d, stderr %q; want 1 and %q, without the password", code, stderr, tt.want)
			}
			if took > 20*time.Second {
				t.Fatalf("took %v: the refusal was retried", took)
			}
		})
	}
}

// TestStatusSaysWhyNotConnected: a host whose broker refuses its login
// keeps trying, and `oslohost status` says why it is not connected and
// lists the servers waiting for the broker.
func TestStatusSaysWhyNotConnected(t *testing.T) {
	wrongPW := strings.Replace(pypeer.URL(), "guest:guest@", "guest:wrong-pw@", 1)
	topic := pypeer.UniqueName(t, "refusedhost")
	h := startHost(t, writeConfig(t, fmt.Sprintf("transport {\n  url = %q\n}\n", wrongPW)+adminBlock+fmt.Sprintf(`
plugin "svc" {
  command = %q
}
server "svc" {
  topic   = %q
  plugins = ["svc"]
}
`, faultyBuild(t, "v1", ""), topic)))
	waitFor(t, 60*time.Second, "the admin API and a refused login", func() bool {
		return strings.Contains(h.Log(), "admin API listening") && strings.Contains(h.Log(), "refused the login")
	})
	code, stdout, _ := cli(t, t.TempDir(), "status", "--address", h.AdminAddr(t))
	if code != 0 || !strings.Contains(stdout, "NOT CONNECTED: the broker refused the login") || !strings.Contains(stdout, "(403)") {
		t.Fatalf("status: exit %d, want the reason in:\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "svc     waiting") && !strings.Contains(oneLine(stdout), "svc waiting "+topic) {
		t.Fatalf("status lacks the waiting server:\n%s", stdout)
	}
	_, raw, _ := cli(t, t.TempDir(), "status", "--json", "--address", h.AdminAddr(t))
	var st host.Status
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.Broker.Connected || !strings.Contains(st.Broker.Error, "(403)") || len(st.Servers) != 1 || st.Servers[0].State != "waiting" {
		t.Fatalf("status: %+v", st)
	}
	if strings.Contains(raw, "wrong-pw") {
		t.Fatal("the password appears in the status")
	}
}
