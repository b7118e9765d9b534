package supervisor

import (
	"context"
	"errors"
	"sync"
	"time"
)

// drainGrace is how long a drain waits for cut calls to return before it
// gives up on them.
const drainGrace = 5 * time.Second

// Causes of a cut call (context.Cause of [Call.Context]): ErrDrainCut, it
// outlived its drain limit after a swap; ErrStopCut, the plugin was
// stopping and the time was up.
var (
	ErrDrainCut = errors.New("cut by the drain after a swap")
	ErrStopCut  = errors.New("cut: the plugin is stopping")
)

// generation is one running process of a plugin, with the calls it has in
// flight. Calls are counted from begin to end, so a generation being
// replaced is stopped only once its calls have finished (or reached their
// drain limit).
type generation struct {
	num     int
	proc    *pluginProc
	started time.Time

	mu    sync.Mutex
	calls map[*inflightCall]struct{}
	idle  chan struct{} // closed when the last call ends; nil while none waits
	// retiredAt is when the generation stopped taking new calls (zero
	// while it serves); drained is set once its drain ended.
	retiredAt time.Time
	drained   bool
	cut       int // calls cut by the drain
	// ret is the current retirement (nil while serving); the plugin's mu
	// guards it.
	ret *retirement
	// onEnd, unless nil, is called after each call ended.
	onEnd func()
}

// retirement is one time a generation stopped serving: restored is
// closed when a rollback makes it serve again, dismissed when it is no
// longer kept as a rollback target (then it stops once drained).
type retirement struct {
	restored  chan struct{}
	dismissed chan struct{}
}

func newRetirement() *retirement {
	return &retirement{restored: make(chan struct{}), dismissed: make(chan struct{})}
}

func newGeneration(num int, proc *pluginProc) *generation {
	return &generation{num: num, proc: proc, started: time.Now(), calls: map[*inflightCall]struct{}{}}
}

// inflightCall is one call on a generation.
type inflightCall struct {
	ctx context.Context
	// deadline is the caller's (zero when it gave none); longLived calls
	// are kept until the drain ceiling even without one (a caller with a
	// call monitor waits as long as heartbeats come).
	deadline  time.Time
	longLived bool
	cancel    context.CancelCauseFunc
	cut       bool
}

// begin counts a call on g; the call must use the returned call's ctx,
// which the drain may cut.
func (g *generation) begin(ctx context.Context, longLived bool) *inflightCall {
	cctx, cancel := context.WithCancelCause(ctx)
	c := &inflightCall{ctx: cctx, longLived: longLived, cancel: cancel}
	c.deadline, _ = ctx.Deadline()
	g.mu.Lock()
	g.calls[c] = struct{}{}
	g.mu.Unlock()
	return c
}

// end ends a call begun on g.
func (g *generation) end(c *inflightCall) {
	c.cancel(nil)
	g.mu.Lock()
	delete(g.calls, c)
	if len(g.calls) == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
	if g.onEnd != nil {
		g.onEnd()
	}
}

// InFlight is the number of calls running on this generation.
func (g *generation) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// drainLimits say when the calls of a retired generation are cut.
type drainLimits struct {
	// undated: calls whose caller gave no deadline (casts, calls without
	// a timeout) are cut then.
	undated time.Time
	// ceiling: every call still running then is cut.
	ceiling time.Time
	// hard, when closed, cuts every call at once (the host is stopping).
	hard <-chan struct{}
}

// limit is when c is cut.
func (l drainLimits) limit(c *inflightCall) time.Time {
	if c.deadline.IsZero() && !c.longLived && l.undated.Before(l.ceiling) {
		return l.undated
	}
	return l.ceiling // a call with a deadline ends by itself at it
}

// drain waits until no call is in flight on g, cutting each call that
// reaches its limit (the call then fails, the others go on). It reports
// whether g ended idle; it returns early, false, when restored closes.
func (g *generation) drain(l drainLimits, restored <-chan struct{}) bool {
	var grace time.Time
	hard := l.hard
	for {
		g.mu.Lock()
		if len(g.calls) == 0 {
			g.mu.Unlock()
			return true
		}
		if g.idle == nil {
			g.idle = make(chan struct{})
		}
		idle := g.idle
		now := time.Now()
		var next time.Time
		waiting := false
		for c := range g.calls {
			if c.cut {
				continue
			}
			lim := l.limit(c)
			if !now.Before(lim) {
				c.cut = true
				g.cut++
				c.cancel(ErrDrainCut)
				continue
			}
			waiting = true
			if next.IsZero() || lim.Before(next) {
				next = lim
			}
		}
		if !waiting { // every call left is cut: give them a moment to return
			if grace.IsZero() {
				grace = now.Add(drainGrace)
			}
			next = grace
		}
		g.mu.Unlock()
		if !waiting && !now.Before(grace) {
			return false
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-idle:
		case <-t.C:
		case <-hard:
			hard = nil
			g.cutAll(ErrStopCut)
		case <-restored:
			t.Stop()
			return false
		}
		t.Stop()
	}
}

// cutAll cuts every call in flight, with cause.
func (g *generation) cutAll(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.calls {
		if !c.cut {
			c.cut = true
			g.cut++
			c.cancel(cause)
		}
	}
}

// exited reports whether the plugin process has ended.
func (g *generation) exited() bool { return g.proc.exited() }

// pid is the plugin process id (0 when unknown).
func (g *generation) pid() int {
	if rc := g.proc.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
