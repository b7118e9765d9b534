package pypeer

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// CloseConnections makes the local broker close every connection whose
// client properties (its connection_name) contain token, with rabbitmqctl
// close_connection, leaving other tests' connections alone. It returns how
// many it closed. A connection already gone is skipped.
func CloseConnections(t testing.TB, token string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "list_connections", "pid", "client_properties").Output()
	if err != nil {
		t.Fatalf("rabbitmqctl list_connections: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, token) {
			continue
		}
		pid := strings.Fields(line)[0]
		if err := exec.CommandContext(ctx, "rabbitmqctl", "-q", "close_connection", pid, "a test closes it").Run(); err != nil {
			t.Logf("rabbitmqctl close_connection %s: %v (already gone?)", pid, err)
			continue
		}
		n++
	}
	return n
}
