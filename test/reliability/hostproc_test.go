package reliability

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/oslohost/oslohost/test/hostproc"
)

// The host process and its helpers are test/hostproc's, shared with
// test/e2e.
type hostProc = hostproc.Proc

const adminBlock = hostproc.AdminBlock

var (
	transportBlock = hostproc.TransportBlock
	writeConfig    = hostproc.WriteConfig
	waitFor        = hostproc.WaitFor
	bg             = hostproc.Context
	tail           = hostproc.Tail
)

// runHost starts `oslohost run CONFIG` and waits (bounded) until it logs
// "host ready". It is stopped with SIGTERM at cleanup.
func runHost(t testing.TB, config string) *hostProc { return hostproc.Run(t, bin.host, config) }

// startHost is runHost without waiting for "host ready", with env added to
// the host's environment.
func startHost(t testing.TB, config string, env ...string) *hostProc {
	return hostproc.Start(t, bin.host, config, env...)
}

// rssKB is a process's resident set size in kB, from /proc/PID/status.
func rssKB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
