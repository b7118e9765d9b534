package intake

import "time"

// Policy is when an intake acks a delivery.
type Policy int

const (
	// AckOnReceipt acks as the executor starts the message, before the
	// handler runs (at most once, as oslo's RPC server): a crash from
	// then on loses the message instead of running it twice.
	AckOnReceipt Policy = iota
	// AckAfterHandling settles the delivery with the handler's Verdict
	// once it returned (at least once, as oslo's notification listener).
	AckAfterHandling
)

// Verdict is how a message handed to the handler is settled under
// AckAfterHandling (under AckOnReceipt it is ignored).
type Verdict int

const (
	// Handled: acked, its _unique_id recorded.
	Handled Verdict = iota
	// Dropped: given up on (requeue not allowed, requeued too often, or
	// refused as malformed); acked and recorded as Handled is.
	Dropped
	// Requeued: rejected with requeue, not recorded.
	Requeued
)

// String is the verdict as the listener's Observe reports it.
func (v Verdict) String() string {
	switch v {
	case Handled:
		return "handled"
	case Dropped:
		return "dropped"
	case Requeued:
		return "requeued"
	}
	return "unknown"
}

// DuplicateWindow remembers the _unique_id of the messages taken lately
// (internal/dedup.Window is one). Implementations must be safe for
// concurrent use.
type DuplicateWindow interface {
	// Contains reports whether id was seen (and is still remembered).
	Contains(id string) bool
	// Seen remembers id for at least ttl and reports whether it was seen
	// already.
	Seen(id string, ttl time.Duration) bool
}
