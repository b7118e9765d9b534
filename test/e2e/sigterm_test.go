package e2e

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/test/pypeer"
)

// TestSIGTERMToTheWholeUnit: SIGTERM sent to the host and its plugins at
// once, as systemd's default KillMode=control-group does, still drains:
// every call in flight completes on the plugin (it leaves its shutdown to
// the host), and the host exits 0.
func TestSIGTERMToTheWholeUnit(t *testing.T) {
	topic := pypeer.UniqueName(t, "sigterm")
	h := runHost(t, writeConfig(t, transportBlock()+adminBlock+fmt.Sprintf(`
plugin "svc" {
  command = %q
}
server "svc" {
  topic    = %q
  executor = "pool"
  plugins  = ["svc"]
}
executor "pool" {
  kind    = "pool"
  workers = 16
}
`, faultyBuild(t, "v1", ""), topic)))
	c := goClient(t, topic)
	const calls = 8
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out string
			err := c.Prepare(client.Timeout(30*time.Second)).Call(context.Background(), nil, "sleep", map[string]any{"seconds": 2}, &out)
			if err == nil && out != "slept on v1" {
				err = fmt.Errorf("answer %q", out)
			}
			errs <- err
		}()
	}
	waitFor(t, 20*time.Second, "every call in flight on the plugin", func() bool {
		return h.Plugin(t, "svc").InFlight == calls
	})
	pid := h.Plugin(t, "svc").PID
	// The whole unit at once.
	for _, p := range []int{h.Pid(), pid} {
		if err := syscall.Kill(p, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a call in flight at SIGTERM: %v", err)
		}
	}
	if err := h.WaitExit(t, 30*time.Second); err != nil {
		t.Fatalf("host exit: %v", err)
	}
}
