package host

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/oslohost/oslohost/host/internal/supervisor"
)

// settle is how long a watched binary must stay unchanged (size and
// modification time) before it is swapped in, so a half-written file is
// never run.
const settle = 500 * time.Millisecond

// watcher swaps plugins whose block says watch = true when their binary
// changes.
type watcher struct {
	h    *Host
	fw   *fsnotify.Watcher
	done chan struct{}
	wg   sync.WaitGroup
	// paths maps a watched binary's path to its plugin.
	paths map[string]string
}

// startWatcher (re)starts file watching for the plugins that ask for it.
func (h *Host) startWatcher() error {
	paths := map[string]string{}
	for _, p := range h.sup.Plugins() {
		if cfg := p.Config(); cfg.Watch {
			if abs, err := filepath.Abs(supervisor.Command(cfg)); err == nil {
				paths[abs] = p.Name()
			}
		}
	}
	h.mu.Lock()
	old := h.watch
	h.watch = nil
	h.mu.Unlock()
	if old != nil {
		old.close()
	}
	if len(paths) == 0 {
		return nil
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for p := range paths {
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := fw.Add(d); err != nil {
			fw.Close()
			return err
		}
	}
	w := &watcher{h: h, fw: fw, done: make(chan struct{}), paths: paths}
	w.wg.Add(1)
	go w.run()
	h.mu.Lock()
	h.watch = w
	h.mu.Unlock()
	h.log.Info("watching plugin binaries", "count", len(paths))
	return nil
}

func (w *watcher) close() {
	close(w.done)
	w.fw.Close()
	w.wg.Wait()
}

func (w *watcher) run() {
	defer w.wg.Done()
	pending := map[string]time.Time{} // path -> last event
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if _, watched := w.paths[ev.Name]; watched && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Chmod) != 0 {
				pending[ev.Name] = time.Now()
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.h.log.Warn("watching plugin binaries", "error", err)
		case <-tick.C:
			for p, last := range pending {
				if time.Since(last) < settle || !settled(p) {
					continue
				}
				delete(pending, p)
				name := w.paths[p]
				w.h.log.Info("plugin binary changed; swapping", "plugin", name, "path", p)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				_, _ = w.h.ReloadPlugin(ctx, name) // failures are logged and counted by the swap
				cancel()
			}
		}
	}
}

// settled reports whether the file exists, is executable and did not change
// over a short look.
func settled(path string) bool {
	a, err := os.Stat(path)
	if err != nil || a.Mode()&0o111 == 0 {
		return false
	}
	time.Sleep(50 * time.Millisecond)
	b, err := os.Stat(path)
	return err == nil && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
