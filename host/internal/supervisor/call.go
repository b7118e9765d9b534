package supervisor

import (
	"context"

	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// Call is one call begun on a plugin generation by [Plugin.Begin]. It is
// counted on that generation until End, so a drain waits for it. Its
// methods are safe for concurrent use; End is idempotent.
type Call struct {
	g *generation
	c *inflightCall
}

// Context is the call's context: the caller's, cut by the drain when the
// generation was replaced and the call outlived its limit (then its cause
// is ErrDrainCut) or when the plugin is stopping (ErrStopCut).
func (c *Call) Context() context.Context { return c.c.ctx }

// Endpoint is the generation's plugin client.
func (c *Call) Endpoint() pluginv1.Endpoint { return c.g.proc.ep }

// Description is how the generation described itself.
func (c *Call) Description() *pluginv1.DescribeResponse { return c.g.proc.desc }

// Generation is the generation's number (1 for the plugin's first process).
func (c *Call) Generation() int { return c.g.num }

// Exited is closed once the generation's process has ended: after a
// broken connection, whether the plugin crashed.
func (c *Call) Exited() <-chan struct{} { return c.g.proc.done }

// End ends the call.
func (c *Call) End() { c.g.end(c.c) }
