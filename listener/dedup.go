package listener

import "sync"

// dedupWindow remembers the last n _unique_id values a listener handled
// (acked), as oslo's _MsgIdCache does for notification listeners (n = 16).
// Safe for concurrent use.
type dedupWindow struct {
	mu   sync.Mutex
	ring []string
	next int
	set  map[string]struct{}
}

func newDedupWindow(n int) *dedupWindow {
	return &dedupWindow{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// contains reports whether id is in the window; "" never is.
func (w *dedupWindow) contains(id string) bool {
	if id == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.set[id]
	return ok
}

// add records id (no-op for "" or an id already there).
func (w *dedupWindow) add(id string) {
	if id == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.set[id]; ok {
		return
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.set, old)
	}
	w.ring[w.next] = id
	w.set[id] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
}
