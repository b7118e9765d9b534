package pypeer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Peer chooses the oslo.messaging a Python process runs.
type Peer string

const (
	// PeerBookworm is the system's python3-oslo.messaging 14.0.3 (Debian
	// 12), the default (the zero Peer).
	PeerBookworm Peer = ""
	// PeerTrixie is Debian trixie's python3-oslo.messaging 16.1.0,
	// unpacked by scripts/ensure-python-peer-trixie.sh and run with
	// PYTHONPATH on bookworm's own dependencies.
	PeerTrixie Peer = "16.1.0"
)

// Peers are every peer, for tests that run against each.
var Peers = []Peer{PeerBookworm, PeerTrixie}

// String names the peer with its oslo.messaging version.
func (p Peer) String() string {
	if p == PeerBookworm {
		return "oslo.messaging-14.0.3"
	}
	return "oslo.messaging-" + string(p)
}

// trixieDir is where scripts/ensure-python-peer-trixie.sh unpacks the
// package: $OSLOHOST_PEER_TRIXIE, else <repo>/.cache/python-peer-trixie.
func trixieDir() string {
	if d := os.Getenv("OSLOHOST_PEER_TRIXIE"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0) // <repo>/test/pypeer/peer.go
	return filepath.Join(filepath.Dir(file), "..", "..", ".cache", "python-peer-trixie")
}

// env is what the peer's processes add to their environment.
func (p Peer) env() []string {
	if p == PeerBookworm {
		return nil
	}
	return []string{"PYTHONPATH=" + filepath.Join(trixieDir(), "usr", "lib", "python3", "dist-packages")}
}

var peerChecks sync.Map // Peer -> *peerCheck

type peerCheck struct {
	once sync.Once
	err  error
}

// RequirePeer checks, once per test binary, that PythonPath imports the
// peer's oslo.messaging at its version; otherwise it skips t (fails it
// if CI=true).
func RequirePeer(t testing.TB, p Peer) {
	t.Helper()
	Python(t)
	if p == PeerBookworm {
		return
	}
	v, _ := peerChecks.LoadOrStore(p, &peerCheck{})
	c := v.(*peerCheck)
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, PythonPath, "-c",
			"from importlib.metadata import version; import oslo_messaging; print(version('oslo.messaging'))")
		cmd.Env = append(os.Environ(), p.env()...)
		out, err := cmd.CombinedOutput()
		got := string(bytes.TrimSpace(out))
		switch {
		case err != nil:
			c.err = fmt.Errorf("%s cannot import %s from %s (run scripts/ensure-python-peer-trixie.sh): %w: %s", PythonPath, p, trixieDir(), err, got)
		case !strings.HasPrefix(got, string(p)):
			c.err = fmt.Errorf("%s imports oslo.messaging %s from %s, want %s", PythonPath, got, trixieDir(), p)
		}
	})
	if c.err != nil {
		unavailable(t, "%v", c.err)
	}
}

var groupLeader sync.Once

// QueueManagerReady makes sure oslo.messaging 16.1.0's queue manager
// (use_queue_manager) can run in the peers this process starts: QManager
// reads /proc/<pgid>/stat of its process group's leader and fails when
// that leader has exited (a test binary whose starting shell is gone).
// Then this process becomes the leader of a group of its own, which the
// peers started afterwards join, so they still share one counter with it,
// as the workers of one service do. Safe for concurrent use.
func QueueManagerReady(t testing.TB) {
	t.Helper()
	groupLeader.Do(func() {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", syscall.Getpgrp())); err == nil {
			return
		}
		if err := syscall.Setpgid(0, 0); err != nil {
			t.Logf("pypeer: cannot lead a process group for the queue manager: %v", err)
		}
	})
}
