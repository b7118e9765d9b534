package host

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/oslohost/oslohost/host/config"
)

// ErrNoLoader: the host was built without a way to re-read its config.
var ErrNoLoader = errors.New("reload needs the configuration files: the host was started without a loader")

// ReloadResult says what a reload changed.
type ReloadResult struct {
	PluginsStarted  []string     `json:"plugins_started,omitempty"`
	PluginsSwapped  []SwapResult `json:"plugins_swapped,omitempty"`
	PluginsStopped  []string     `json:"plugins_stopped,omitempty"`
	ServersStarted  []string     `json:"servers_started,omitempty"`
	ServersReplaced []string     `json:"servers_replaced,omitempty"`
	ServersStopped  []string     `json:"servers_stopped,omitempty"`
	// Listeners started, replaced (changed) or stopped.
	ListenersStarted  []string `json:"listeners_started,omitempty"`
	ListenersReplaced []string `json:"listeners_replaced,omitempty"`
	ListenersStopped  []string `json:"listeners_stopped,omitempty"`
	// NotApplied lists changed blocks that need a restart (transport,
	// admin, log, host).
	NotApplied []string `json:"not_applied,omitempty"`
}

// Reload re-reads the configuration and applies the difference: plugins
// and servers added, removed or changed; unchanged ones are untouched. A
// configuration that does not load is refused whole and the running one
// stays. Changes to transport, admin, log and host blocks need a restart
// and are reported, not applied.
func (h *Host) Reload(ctx context.Context) (ReloadResult, error) {
	if h.loader == nil {
		return ReloadResult{}, ErrNoLoader
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	if h.isShutdown() {
		return ReloadResult{}, errors.New("host is shutting down")
	}
	next, err := h.loader()
	if err != nil {
		h.metrics.reloads.WithLabelValues("failed").Inc()
		h.log.Error("reload refused: the configuration does not load; the running one stays", "error", err)
		return ReloadResult{}, fmt.Errorf("configuration refused: %w", err)
	}
	res, err := h.apply(ctx, next)
	if err != nil {
		h.metrics.reloads.WithLabelValues("failed").Inc()
		h.log.Error("reload applied in part", "error", err)
		return res, err
	}
	h.metrics.reloads.WithLabelValues("ok").Inc()
	h.log.Info("reloaded", "result", fmt.Sprintf("%+v", res))
	return res, nil
}

// ReloadPlugin swaps one plugin for a new generation of the same binary
// path and configuration (a new build in place). The new generation must
// serve everything the old one did.
func (h *Host) ReloadPlugin(ctx context.Context, name string) (SwapResult, error) {
	h.mu.RLock()
	s := h.slots[name]
	h.mu.RUnlock()
	if s == nil {
		return SwapResult{}, fmt.Errorf("%w: %q", ErrUnknownPlugin, name)
	}
	return s.swap(ctx, s.config(), true)
}

// ErrUnknownPlugin: no running plugin has that name.
var ErrUnknownPlugin = errors.New("no such plugin")

func (h *Host) isShutdown() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.shutdown
}

// apply moves the running host to next.
func (h *Host) apply(ctx context.Context, next *config.Config) (ReloadResult, error) {
	var res ReloadResult
	var errs []error
	h.mu.RLock()
	cur := h.cfg
	h.mu.RUnlock()
	for name, pair := range map[string][2]any{
		"transport": {cur.Transport, next.Transport}, "admin": {cur.Admin, next.Admin},
		"log": {cur.Log, next.Log}, "host": {cur.Host, next.Host},
	} {
		if !sameBlock(pair[0], pair[1]) {
			res.NotApplied = append(res.NotApplied, name)
			h.log.Warn("configuration block changed; restart to apply it", "block", name)
		}
	}
	slices.Sort(res.NotApplied)

	// Plugins: start new ones, swap changed ones.
	var fresh []*config.Plugin
	for _, pc := range usedPlugins(next) {
		h.mu.RLock()
		s := h.slots[pc.Name]
		h.mu.RUnlock()
		switch {
		case s == nil:
			fresh = append(fresh, pc)
		case !sameBlock(*s.config(), *pc):
			r, err := s.swap(ctx, pc, false)
			if err != nil {
				errs = append(errs, fmt.Errorf("plugin %q: %w", pc.Name, err))
				continue
			}
			res.PluginsSwapped = append(res.PluginsSwapped, r)
		default:
			s.mu.Lock()
			s.cfg = pc // same settings; keep the new source position
			s.mu.Unlock()
		}
	}
	if err := h.startSlots(ctx, fresh); err != nil {
		errs = append(errs, err)
	}
	for _, pc := range fresh {
		res.PluginsStarted = append(res.PluginsStarted, pc.Name)
	}

	// Servers and listeners: stop removed and changed ones, start new and
	// changed ones; kept servers get their endpoints refreshed.
	h.mu.RLock()
	var servers, listeners []runningBlock
	for _, e := range h.servers {
		servers = append(servers, e)
	}
	for _, e := range h.lsns {
		listeners = append(listeners, e)
	}
	h.mu.RUnlock()
	var want []wantedBlock
	for _, sc := range next.Servers {
		want = append(want, wantedBlock{
			name: sc.Name, cfg: *sc, exec: *next.Executor(sc.Executor),
			start: func() error { return h.startServer(ctx, next, sc) },
			keep: func(r runningBlock) {
				e := r.(*serverEntry)
				h.mu.Lock()
				e.cfg = sc // the same settings; keep the new source position
				h.mu.Unlock()
				e.disp.SetEndpoints(h.endpointsOf(sc))
			},
		})
	}
	res.ServersStarted, res.ServersReplaced, res.ServersStopped = h.reconcile(ctx, servers, want, &errs, func(name string) {
		h.mu.Lock()
		delete(h.servers, name)
		h.mu.Unlock()
	})
	want = want[:0]
	for _, lc := range next.Listeners {
		want = append(want, wantedBlock{
			name: lc.Name, cfg: *lc, exec: *next.Executor(lc.Executor),
			start: func() error { return h.startListener(ctx, next, lc) },
		})
	}
	res.ListenersStarted, res.ListenersReplaced, res.ListenersStopped = h.reconcile(ctx, listeners, want, &errs, func(name string) {
		h.mu.Lock()
		delete(h.lsns, name)
		h.mu.Unlock()
	})

	// Plugins no server or listener uses any more.
	used := map[string]bool{}
	for _, pc := range usedPlugins(next) {
		used[pc.Name] = true
	}
	h.mu.Lock()
	var gone []*pluginSlot
	for name, s := range h.slots {
		if !used[name] {
			gone = append(gone, s)
			delete(h.slots, name)
		}
	}
	kept := *next
	kept.Transport, kept.Admin, kept.Log, kept.Host = cur.Transport, cur.Admin, cur.Log, cur.Host
	h.cfg = &kept
	h.mu.Unlock()
	h.pruneDuplicates(next)
	for _, s := range gone {
		dctx, cancel := context.WithTimeout(ctx, h.drainTimeout())
		s.stop(dctx)
		cancel()
		res.PluginsStopped = append(res.PluginsStopped, s.name)
	}
	if err := h.startWatcher(); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// sameBlock compares two config blocks, ignoring where they were written.
func sameBlock(a, b any) bool {
	return reflect.DeepEqual(withoutSource(a), withoutSource(b))
}

// withoutSource returns a copy of a config struct value with its Source
// (and the Source of nested blocks) zeroed.
func withoutSource(v any) any {
	rv := reflect.ValueOf(v)
	cp := reflect.New(rv.Type()).Elem()
	cp.Set(rv)
	zeroSources(cp)
	return cp.Interface()
}

func zeroSources(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if v.Type().Field(i).Type == reflect.TypeOf(config.Source{}) {
				f.Set(reflect.Zero(f.Type()))
				continue
			}
			if f.CanSet() {
				zeroSources(f)
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			cp := reflect.New(v.Elem().Type())
			cp.Elem().Set(v.Elem())
			zeroSources(cp.Elem())
			v.Set(cp)
		}
	}
}

// runningBlock is a running server or listener, as reload sees it.
type runningBlock interface {
	name() string
	block() any                // its config block (a value)
	executor() config.Executor // its executor block
	shutdown(ctx context.Context) error
}

func (e *serverEntry) name() string                       { return e.cfg.Name }
func (e *serverEntry) block() any                         { return *e.cfg }
func (e *serverEntry) executor() config.Executor          { return *e.exec }
func (e *serverEntry) shutdown(ctx context.Context) error { return e.srv.Shutdown(ctx) }

func (e *listenerEntry) name() string                       { return e.cfg.Name }
func (e *listenerEntry) block() any                         { return *e.cfg }
func (e *listenerEntry) executor() config.Executor          { return *e.exec }
func (e *listenerEntry) shutdown(ctx context.Context) error { return e.l.Shutdown(ctx) }

// wantedBlock is a server or listener of the new configuration.
type wantedBlock struct {
	name  string
	cfg   any
	exec  config.Executor
	start func() error
	keep  func(runningBlock) // called for an unchanged running block; may be nil
}

// reconcile stops the running blocks that are gone or changed (forget
// removes them from the host), starts the new and changed ones, and keeps
// the unchanged ones. It returns the names started, replaced and stopped.
func (h *Host) reconcile(ctx context.Context, running []runningBlock, want []wantedBlock, errs *[]error, forget func(string)) (started, replaced, stopped []string) {
	byName := map[string]wantedBlock{}
	for _, w := range want {
		byName[w.name] = w
	}
	kept := map[string]runningBlock{}
	for _, r := range running {
		w, ok := byName[r.name()]
		if ok && sameBlock(r.block(), w.cfg) && sameBlock(r.executor(), w.exec) {
			kept[r.name()] = r
			continue
		}
		if err := r.shutdown(ctx); err != nil {
			*errs = append(*errs, err)
		}
		forget(r.name())
		if ok {
			replaced = append(replaced, r.name())
		} else {
			stopped = append(stopped, r.name())
		}
	}
	for _, w := range want {
		if r, ok := kept[w.name]; ok {
			if w.keep != nil {
				w.keep(r)
			}
			continue
		}
		if err := w.start(); err != nil {
			*errs = append(*errs, err)
			continue
		}
		if !slices.Contains(replaced, w.name) {
			started = append(started, w.name)
		}
	}
	return started, replaced, stopped
}
