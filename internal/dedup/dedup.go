// Package dedup is oslo.messaging's duplicate-message window: the last N
// _unique_id values a server or listener accepted (N = 16 in oslo); a
// message whose id is among them is a duplicate.
package dedup

import "sync"

// Window remembers the last n ids added. The empty id is never remembered
// nor a duplicate. Safe for concurrent use.
type Window struct {
	mu   sync.Mutex
	ring []string
	next int
	set  map[string]struct{}
}

// New returns a window of n ids (at least 1).
func New(n int) *Window {
	n = max(n, 1)
	return &Window{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// Contains reports whether id is in the window.
func (w *Window) Contains(id string) bool {
	if id == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.set[id]
	return ok
}

// Add records id, pushing out the oldest when full.
func (w *Window) Add(id string) { w.Seen(id) }

// Seen records id and reports whether it was already in the window (the
// RPC server's check-and-add in one step).
func (w *Window) Seen(id string) bool {
	if id == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.set[id]; ok {
		return true
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.set, old)
	}
	w.ring[w.next] = id
	w.set[id] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
	return false
}
