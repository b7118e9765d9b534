// Package supervisor owns a host's plugin processes: for each configured
// plugin the generation (go-plugin subprocess) serving it, hot swaps to a
// new generation (queued while another runs or too many old ones drain,
// with a probation during which the previous generation is kept to roll
// back to), the drain of replaced generations (each call until its
// caller's deadline, bounded by drain_timeout and drain_ceiling), and
// restarts with backoff after a crash.
//
// It takes a [Config] from its owner (the Host service to hand plugins,
// an [Observer] for metrics, a callback for when a plugin's endpoints
// changed, the drain and probation [Settings], a logger) and never reaches
// back into it. The owner routes calls with [Plugin.Begin], swaps with
// [Plugin.Swap], and applies a reload all or nothing with [Plugin.Prepare]
// and [Pending.Commit] or [Pending.Discard].
package supervisor
