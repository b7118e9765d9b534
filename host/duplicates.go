package host

import (
	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/dedup"
)

// duplicates is the duplicate-message window of a server or listener
// block (kind "server" or "listener"), made on first use. The host keeps
// it while the block exists, so the servers and listeners that replace one
// another on reloads share it, and so do all generations of the plugins
// behind them: a copy of a request dispatched before a swap or a reload is
// still caught after it.
func (h *Host) duplicates(kind, name string) *dedup.Window {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := kind + "/" + name
	if w := h.dups[k]; w != nil {
		return w
	}
	w := dedup.New(h.cfg.Host.DedupWindow.Duration(), h.cfg.Host.DedupMaxIDs)
	h.dups[k] = w
	return w
}

// pruneDuplicates forgets the windows of blocks cfg no longer has.
func (h *Host) pruneDuplicates(cfg *config.Config) {
	keep := map[string]bool{}
	for _, s := range cfg.Servers {
		keep["server/"+s.Name] = true
	}
	for _, l := range cfg.Listeners {
		keep["listener/"+l.Name] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.dups {
		if !keep[k] {
			delete(h.dups, k)
		}
	}
}
