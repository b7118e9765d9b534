package pypeer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// NovaOptions configure StartNova. URL defaults to URL(); Exchange (nova's
// control_exchange) and NotifyTopic ([notifications]
// versioned_notifications_topics) are required. ConductorTopic, if set,
// makes the peer serve a conductor's object_backport_versions there.
// NewerInstance makes the peer a newer Nova, one with Instance 2.8.
type NovaOptions struct {
	URL            string
	Exchange       string
	NotifyTopic    string
	ConductorTopic string
	NewerInstance  bool
}

// Nova is a running py/nova_peer.py: nova's own ComputeAPI, notifier and
// conductor code. Do is safe for concurrent use (commands run one at a
// time).
type Nova struct {
	proc    *proc
	mu      sync.Mutex
	results chan map[string]any
}

var novaCheck struct {
	once sync.Once
	err  error
}

// requireNova skips t (fails it under CI=true) when python3-nova is missing.
func requireNova(t testing.TB) {
	t.Helper()
	python := Python(t)
	novaCheck.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, python, "-c", "import nova.compute.rpcapi, oslo_versionedobjects").CombinedOutput(); err != nil {
			novaCheck.err = fmt.Errorf("%s cannot import nova (run scripts/ensure-python-peer.sh): %w: %s", python, err, out)
		}
	})
	if novaCheck.err != nil {
		unavailable(t, "%v", novaCheck.err)
	}
}

// StartNova starts py/nova_peer.py and returns once it is ready (its
// conductor, if any, serving). It is stopped in t.Cleanup.
func StartNova(t testing.TB, o NovaOptions) *Nova {
	t.Helper()
	requireNova(t)
	if o.URL == "" {
		o.URL = URL()
	}
	requireBroker(t, o.URL)
	args := []string{"--url", o.URL, "--exchange", o.Exchange, "--notify-topic", o.NotifyTopic}
	if o.ConductorTopic != "" {
		args = append(args, "--conductor-topic", o.ConductorTopic)
	}
	if o.NewerInstance {
		args = append(args, "--newer-instance")
	}
	n := &Nova{results: make(chan map[string]any, 1)}
	n.proc = startProc(t, PeerBookworm, "nova_peer.py", args, true, func(line string, diag io.Writer) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			fmt.Fprintf(diag, "pypeer: nova_peer: bad line %q: %v\n", line, err)
			return
		}
		n.results <- m
	})
	return n
}

// Do runs one command (see py/nova_peer.py for ops and fields) and returns
// its result line. A driver_error (a malformed command) is an error.
func (n *Nova) Do(ctx context.Context, cmd map[string]any) (map[string]any, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	if err := n.proc.writeLine(b); err != nil {
		return nil, err
	}
	select {
	case r := <-n.results:
		if de, ok := r["driver_error"]; ok {
			return r, fmt.Errorf("pypeer: nova_peer: %v", de)
		}
		return r, nil
	case <-n.proc.exited:
		return nil, fmt.Errorf("nova_peer: %w\nstderr:\n%s", ErrExited, n.proc.stderr)
	case <-ctx.Done():
		return nil, fmt.Errorf("nova_peer %v: %w", cmd["op"], ctx.Err())
	}
}

// Stderr is what the peer logged so far.
func (n *Nova) Stderr() string { return n.proc.stderr.String() }

// StartOVOServer starts py/ovo_server.py, an oslo.messaging server whose
// endpoint takes and returns oslo.versionedobjects objects through
// VersionedObjectSerializer, on Target(topic, server) under the control
// exchange (defaults as for StartServer). It is stopped in t.Cleanup.
func StartOVOServer(t testing.TB, o ServerOptions) ServerOptions {
	t.Helper()
	if o.URL == "" {
		o.URL = URL()
	}
	if o.Exchange == "" {
		o.Exchange = "openstack"
	}
	if o.Topic == "" {
		o.Topic = UniqueName(t, "ovo")
	}
	if o.Server == "" {
		o.Server = UniqueName(t, "ovosrv")
	}
	Python(t)
	requireBroker(t, o.URL)
	args := []string{"--url", o.URL, "--exchange", o.Exchange, "--topic", o.Topic, "--server", o.Server}
	startProc(t, PeerBookworm, "ovo_server.py", args, true, func(line string, diag io.Writer) {
		fmt.Fprintf(diag, "pypeer: ovo_server: unexpected stdout line: %s\n", line)
	})
	return o
}
