// Package dedup is the duplicate-message window of the RPC servers and
// notification listeners: the _unique_id values accepted lately, each
// remembered for a time, so a message whose id is among them is a
// duplicate.
//
// oslo.messaging remembers the last 16 ids (DUP_MSG_CHECK_SIZE); a copy
// redelivered or re-sent after a failover more than 16 messages later runs
// twice. This window is time-based instead: an id is kept at least for the
// window's minimum and at least for the message's own time to live (a
// call's expiration is its caller's timeout, and RabbitMQ delivers no copy
// of a message after it expired), so it covers the longest caller timeout.
// Memory is bounded by a maximum number of ids: when full, the id closest
// to its expiry is forgotten early (counted in Stats).
package dedup

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// Defaults of New.
const (
	// DefaultMinTTL is how long an id without a time to live of its own
	// (a cast, a notification) is kept: oslo's default rpc_response_timeout.
	DefaultMinTTL = time.Minute
	// DefaultMaxIDs bounds the ids kept: 1.2 M ids is two minutes at
	// 10,000 messages/s, about 80 MB of heap (68 bytes an id, measured by
	// TestWindowMemory; one minute at that rate is 54 MB).
	DefaultMaxIDs = 1_200_000
	// maxTTLClasses: times to live are rounded up to MinTTL·2^k, k below
	// this; longer ones are capped at the last class (64·MinTTL, over an
	// hour with the default, beyond Nova's long_rpc_timeout of 1800 s).
	maxTTLClasses = 7
)

// key is an id as 16 bytes: a 32-hex-digit uuid decoded, any other id
// hashed. Keys hold no pointers, so a large window costs the garbage
// collector nothing to scan.
type key [16]byte

type entry struct {
	k   key
	exp int64 // unix nanoseconds
}

// fifo is a queue of entries of one time-to-live class; entries are pushed
// in time order with the same time to live, so they expire in queue order.
type fifo struct {
	q    []entry
	head int
}

func (f *fifo) push(e entry) { f.q = append(f.q, e) }
func (f *fifo) len() int     { return len(f.q) - f.head }
func (f *fifo) peek() *entry { return &f.q[f.head] }

func (f *fifo) pop() entry {
	e := f.q[f.head]
	f.head++
	if f.head == len(f.q) {
		f.q, f.head = f.q[:0], 0
	} else if f.head >= 1024 && f.head*2 >= len(f.q) {
		n := copy(f.q, f.q[f.head:])
		f.q, f.head = f.q[:n], 0
	}
	return e
}

// Window remembers ids for a time. The empty id is never remembered nor a
// duplicate. Safe for concurrent use.
type Window struct {
	mu      sync.Mutex
	min     time.Duration
	max     int
	set     map[key]struct{}
	classes [maxTTLClasses]fifo
	evicted uint64
	now     func() time.Time
}

// New returns a window that keeps each id at least minTTL (DefaultMinTTL
// when not positive) and at most maxIDs ids (DefaultMaxIDs when not
// positive).
func New(minTTL time.Duration, maxIDs int) *Window {
	if minTTL <= 0 {
		minTTL = DefaultMinTTL
	}
	if maxIDs <= 0 {
		maxIDs = DefaultMaxIDs
	}
	return &Window{min: minTTL, max: maxIDs, set: map[key]struct{}{}, now: time.Now}
}

// Contains reports whether id is in the window.
func (w *Window) Contains(id string) bool {
	if id == "" {
		return false
	}
	k := keyOf(id)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.now().UnixNano())
	_, ok := w.set[k]
	return ok
}

// Seen records id for ttl (at least the window's minimum) and reports
// whether it was already in the window: the check-and-add of a server
// in one step. A duplicate does not extend the time the id is kept.
func (w *Window) Seen(id string, ttl time.Duration) bool {
	if id == "" {
		return false
	}
	k := keyOf(id)
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now().UnixNano()
	w.expire(now)
	if _, ok := w.set[k]; ok {
		return true
	}
	if len(w.set) >= w.max {
		w.evictOne()
	}
	c, d := w.class(ttl)
	w.classes[c].push(entry{k: k, exp: now + int64(d)})
	w.set[k] = struct{}{}
	return false
}

// Stats are a window's counts.
type Stats struct {
	// IDs are the ids remembered now.
	IDs int
	// Evicted counts ids forgotten before their time because the window
	// was full: duplicates of those would not be caught.
	Evicted uint64
}

// Stats reports the window's counts now.
func (w *Window) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(w.now().UnixNano())
	return Stats{IDs: len(w.set), Evicted: w.evicted}
}

// class is the time-to-live class of ttl and the class's duration: the
// least MinTTL·2^k not below ttl, capped.
func (w *Window) class(ttl time.Duration) (int, time.Duration) {
	d := w.min
	for c := 0; c < maxTTLClasses-1; c++ {
		if ttl <= d {
			return c, d
		}
		d *= 2
	}
	return maxTTLClasses - 1, d
}

// expire forgets the ids whose time is up.
func (w *Window) expire(now int64) {
	for c := range w.classes {
		f := &w.classes[c]
		for f.len() > 0 && f.peek().exp <= now {
			delete(w.set, f.pop().k)
		}
	}
}

// evictOne forgets the id that would expire first.
func (w *Window) evictOne() {
	best := -1
	for c := range w.classes {
		if f := &w.classes[c]; f.len() > 0 && (best < 0 || f.peek().exp < w.classes[best].peek().exp) {
			best = c
		}
	}
	if best >= 0 {
		delete(w.set, w.classes[best].pop().k)
		w.evicted++
	}
}

// keyOf is id's key: oslo's ids are uuid4 hex, decoded without hashing.
func keyOf(id string) key {
	var k key
	if len(id) == 32 {
		if _, err := hex.Decode(k[:], []byte(id)); err == nil {
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:16]) // a collision with another id is a 2^-128 chance
	return k
}
