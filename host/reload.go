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

	// Servers: stop removed and changed ones, start new and changed ones,
	// refresh the endpoints of the others.
	nextServers := map[string]*config.Server{}
	for _, sc := range next.Servers {
		nextServers[sc.Name] = sc
	}
	h.mu.RLock()
	running := make(map[string]*serverEntry, len(h.servers))
	for k, v := range h.servers {
		running[k] = v
	}
	h.mu.RUnlock()
	for name, e := range running {
		sc, keep := nextServers[name]
		if keep && sameBlock(*e.cfg, *sc) && sameBlock(*e.exec, *next.Executor(sc.Executor)) {
			continue
		}
		if err := e.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		h.mu.Lock()
		delete(h.servers, name)
		h.mu.Unlock()
		if keep {
			res.ServersReplaced = append(res.ServersReplaced, name)
		} else {
			res.ServersStopped = append(res.ServersStopped, name)
		}
	}
	for _, sc := range next.Servers {
		h.mu.RLock()
		e := h.servers[sc.Name]
		h.mu.RUnlock()
		if e != nil {
			h.mu.Lock()
			e.cfg = sc // the same settings; keep the new source position
			h.mu.Unlock()
			e.disp.SetEndpoints(h.endpointsOf(sc))
			continue
		}
		if err := h.startServer(ctx, next, sc); err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(res.ServersReplaced, sc.Name) {
			res.ServersStarted = append(res.ServersStarted, sc.Name)
		}
	}

	// Listeners: stop removed and changed ones, start new and changed ones.
	nextListeners := map[string]*config.Listener{}
	for _, lc := range next.Listeners {
		nextListeners[lc.Name] = lc
	}
	h.mu.RLock()
	runningL := make(map[string]*listenerEntry, len(h.lsns))
	for k, v := range h.lsns {
		runningL[k] = v
	}
	h.mu.RUnlock()
	for name, e := range runningL {
		lc, keep := nextListeners[name]
		if keep && sameBlock(*e.cfg, *lc) && sameBlock(*e.exec, *next.Executor(lc.Executor)) {
			continue
		}
		if err := e.l.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		h.mu.Lock()
		delete(h.lsns, name)
		h.mu.Unlock()
		if keep {
			res.ListenersReplaced = append(res.ListenersReplaced, name)
		} else {
			res.ListenersStopped = append(res.ListenersStopped, name)
		}
	}
	for _, lc := range next.Listeners {
		h.mu.RLock()
		e := h.lsns[lc.Name]
		h.mu.RUnlock()
		if e != nil {
			continue
		}
		if err := h.startListener(ctx, next, lc); err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(res.ListenersReplaced, lc.Name) {
			res.ListenersStarted = append(res.ListenersStarted, lc.Name)
		}
	}

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
