package server

import "sync"

// dedupWindow remembers the last n _unique_id values a listener accepted,
// as oslo's DuplicateMessageCheck does (n = 16): a request seen again in
// the window is dropped. Safe for concurrent use.
type dedupWindow struct {
	mu   sync.Mutex
	ring []string
	next int
	set  map[string]struct{}
}

func newDedupWindow(n int) *dedupWindow {
	return &dedupWindow{ring: make([]string, n), set: make(map[string]struct{}, n)}
}

// seen records id and reports whether it was already in the window.
// An empty id is never a duplicate.
func (w *dedupWindow) seen(id string) bool {
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
