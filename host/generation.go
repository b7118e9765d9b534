package host

import (
	"context"
	"sync"
	"time"
)

// generation is one running process of a plugin, with the calls it has in
// flight. Calls are counted from acquire to release, so a generation being
// replaced is stopped only once its calls have finished (or the drain time
// is up).
type generation struct {
	num     int
	proc    *pluginProc
	started time.Time

	mu       sync.Mutex
	inflight int
	idle     chan struct{} // closed when inflight drops to 0 while draining
	draining bool
}

func (g *generation) acquire() {
	g.mu.Lock()
	g.inflight++
	g.mu.Unlock()
}

func (g *generation) release() {
	g.mu.Lock()
	g.inflight--
	if g.inflight == 0 && g.draining && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// InFlight is the number of calls running on this generation.
func (g *generation) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inflight
}

// drain waits until no call is in flight or ctx ends; it reports how many
// calls were still running when it gave up.
func (g *generation) drain(ctx context.Context) int {
	g.mu.Lock()
	g.draining = true
	if g.inflight == 0 {
		g.mu.Unlock()
		return 0
	}
	idle := make(chan struct{})
	g.idle = idle
	g.mu.Unlock()
	select {
	case <-idle:
		return 0
	case <-ctx.Done():
		return g.InFlight()
	}
}

// exited reports whether the plugin process has ended.
func (g *generation) exited() bool { return g.proc.client.Exited() }

// pid is the plugin process id (0 when unknown).
func (g *generation) pid() int {
	if rc := g.proc.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
