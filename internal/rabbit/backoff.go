package rabbit

import (
	"math/rand/v2"
	"time"

	"github.com/oslohost/oslohost/internal/retry"
)

// backoff paces reconnection attempts: the first retry comes at once, then
// the wait doubles from rabbit_retry_interval up to rabbit_interval_max, but
// never beyond maxReconnectWait, each wait jittered by ±20 % so a fleet
// does not reconnect in lockstep, plus a random 0..kombu_reconnect_splay.
// Not safe for concurrent use.
type backoff struct {
	initial, max time.Duration
	splay        time.Duration
	attempt      int
}

// maxReconnectWait caps the wait between attempts (oslo's default
// rabbit_interval_max is 30 s): a host serves again within about 5 s of the
// broker coming back, however long it was away. An attempt is one TCP
// connection; a dead broker refuses it at once.
const maxReconnectWait = 4 * time.Second

func newBackoff(o Options) *backoff {
	b := &backoff{initial: o.RetryInterval, max: min(o.IntervalMax, maxReconnectWait), splay: max(o.ReconnectSplay, 0)}
	if b.initial <= 0 {
		b.initial = time.Second
	}
	if b.max < b.initial {
		b.max = b.initial
	}
	return b
}

// next returns how long to wait before the next attempt.
func (b *backoff) next() time.Duration {
	b.attempt++
	var splay time.Duration
	if b.splay > 0 {
		splay = rand.N(b.splay + 1)
	}
	if b.attempt == 1 {
		return jitter(b.initial/4) + splay
	}
	return jitter(retry.Doubling(b.initial, b.max, b.attempt-2)) + splay
}

func (b *backoff) reset() { b.attempt = 0 }

func jitter(d time.Duration) time.Duration { return retry.Jitter(d) }

// hostRing hands out host indexes for failover: round-robin from a random
// start (oslo shuffles the host list), or a fresh random pick each time
// with kombu_failover_strategy=shuffle.
type hostRing struct {
	n, cur  int
	shuffle bool
}

func newHostRing(hosts []Host, strategy string) *hostRing {
	return &hostRing{n: len(hosts), cur: rand.N(len(hosts)), shuffle: strategy == "shuffle"}
}

func (r *hostRing) next() int {
	if r.shuffle {
		return rand.N(r.n)
	}
	i := r.cur
	r.cur = (r.cur + 1) % r.n
	return i
}

// nextAvoiding is next, but not avoid (an index) when there is another.
func (r *hostRing) nextAvoiding(avoid int) int {
	i := r.next()
	for i == avoid && r.n > 1 {
		i = r.next()
	}
	return i
}
