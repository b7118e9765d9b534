package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oslohost/oslohost/test/pypeer"
)

// TestStatusAfterReconnect: the broker closes the host's connection; the
// server's consumer comes back by itself and the host says so: status shows
// it consuming again since after the close with the close as its last
// error, the log has "consuming again" with the downtime, /readyz and
// oslohost_consumer_ready are back at ready, and calls are served.
func TestStatusAfterReconnect(t *testing.T) {
	h, _, topic := svcHost(t, faultyBuild(t, "v1", ""), "")
	c := goClient(t, topic)
	ctx := bg(t, time.Minute)
	if err := c.Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatal(err)
	}
	if code, b := h.Admin(t, "GET", "/readyz", ""); code != 200 {
		t.Fatalf("readyz before: %d %s", code, b)
	}
	closed := time.Now()
	if n := pypeer.CloseConnections(t, fmt.Sprintf("oslohost:%d:", h.Pid())); n == 0 {
		t.Fatal("no connection of the host closed")
	}
	waitFor(t, 30*time.Second, "the server consuming again", func() bool {
		st := h.Status(t)
		return len(st.Servers) == 1 && st.Servers[0].State == "consuming" &&
			st.Servers[0].StateSince != nil && st.Servers[0].StateSince.After(closed)
	})
	s := h.Status(t).Servers[0]
	if !strings.Contains(s.LastError, "channel closed") {
		t.Errorf("last error %q, want the close", s.LastError)
	}
	if !strings.Contains(h.Log(), "consuming again") || !strings.Contains(h.Log(), "downtime=") {
		t.Errorf("no \"consuming again\" with the downtime in the log:\n%s", h.Log())
	}
	waitFor(t, 10*time.Second, "ready again", func() bool {
		code, _ := h.Admin(t, "GET", "/readyz", "")
		return code == 200
	})
	if m := h.Metrics(t); m[`oslohost_consumer_ready{kind="server",name="svc"}`] != 1 {
		t.Errorf("oslohost_consumer_ready not 1 after the reconnect")
	}
	if err := c.Call(ctx, nil, "ok", nil, nil); err != nil {
		t.Fatalf("call after the reconnect: %v", err)
	}
}
