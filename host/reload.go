package host

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/host/internal/supervisor"
)

// ErrNoLoader: the host was built without a way to re-read its config.
var ErrNoLoader = errors.New("reload needs the configuration files: the host was started without a loader")

// SwapResult says what a swap did.
type SwapResult struct {
	Plugin     string `json:"plugin"`
	Generation int    `json:"generation,omitempty"`
	Replaced   int    `json:"replaced,omitempty"`
	// ProbationUntil is when the new generation's probation ends: if it
	// dies before, the host rolls back to the replaced one.
	ProbationUntil *time.Time `json:"probation_until,omitempty"`
	// Queued: the swap waits for a swap or restart in progress, or for an
	// old generation to finish draining (max_draining); Reason says which.
	Queued bool   `json:"queued,omitempty"`
	Reason string `json:"reason,omitempty"`
}

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
	// admin, log, host, telemetry).
	NotApplied []string `json:"not_applied,omitempty"`
}

// ReloadRefused is the error of a reload that changed nothing: the
// configuration did not load, or something it adds or changes did not
// start. Diagnostics says why, one entry per problem.
type ReloadRefused struct {
	Diagnostics []string
}

func (e *ReloadRefused) Error() string {
	return "reload refused; the running configuration stays: " + strings.Join(e.Diagnostics, "; ")
}

// Reload re-reads the configuration and applies the difference: plugins,
// servers and listeners added, removed or changed; unchanged ones are
// untouched. It is all or nothing: everything new (plugins, new
// generations of changed plugins, servers, listeners) is started first,
// beside what runs, and the host switches to it only once all of it has
// started; otherwise what had started is stopped again, nothing changes
// and the error is a [*ReloadRefused]. Changes to transport, admin, log and
// host blocks need a restart and are reported, not applied.
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
		err = &ReloadRefused{Diagnostics: []string{"the configuration does not load:\n" + err.Error()}}
	} else {
		var res ReloadResult
		if res, err = h.apply(ctx, next); err == nil {
			h.metrics.reloads.WithLabelValues("ok").Inc()
			h.log.Info("reloaded", res.logFields()...)
			return res, nil
		}
	}
	h.metrics.reloads.WithLabelValues("failed").Inc()
	var rr *ReloadRefused
	if errors.As(err, &rr) {
		h.log.Error("reload refused; the running configuration stays", "problems", rr.Diagnostics)
	} else {
		h.log.Error("reload failed", "error", err)
	}
	return ReloadResult{}, err
}

// logFields are the non-empty parts of r as log key/value pairs.
func (r ReloadResult) logFields() []any {
	var kv []any
	add := func(k string, v []string) {
		if len(v) > 0 {
			kv = append(kv, k, v)
		}
	}
	add("plugins_started", r.PluginsStarted)
	var swapped []string
	for _, s := range r.PluginsSwapped {
		swapped = append(swapped, fmt.Sprintf("%s (generation %d)", s.Plugin, s.Generation))
	}
	add("plugins_swapped", swapped)
	add("plugins_stopped", r.PluginsStopped)
	add("servers_started", r.ServersStarted)
	add("servers_replaced", r.ServersReplaced)
	add("servers_stopped", r.ServersStopped)
	add("listeners_started", r.ListenersStarted)
	add("listeners_replaced", r.ListenersReplaced)
	add("listeners_stopped", r.ListenersStopped)
	add("not_applied", r.NotApplied)
	if len(kv) == 0 {
		kv = append(kv, "changes", "none")
	}
	return kv
}

// ReloadPlugin swaps one plugin for a new generation of the same binary
// path and configuration (a new build in place). The new generation must
// serve everything the old one did.
func (h *Host) ReloadPlugin(ctx context.Context, name string) (SwapResult, error) {
	p := h.sup.Plugin(name)
	if p == nil {
		return SwapResult{}, fmt.Errorf("%w: %q", ErrUnknownPlugin, name)
	}
	res, err := p.Swap(ctx, p.Config(), true)
	return SwapResult(res), err
}

// ErrUnknownPlugin: no running plugin has that name.
var ErrUnknownPlugin = errors.New("no such plugin")

func (h *Host) isShutdown() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.shutdown
}

// apply moves the running host to next, all or nothing (see Reload).
func (h *Host) apply(ctx context.Context, next *config.Config) (ReloadResult, error) {
	h.mu.RLock()
	cur := h.cfg
	h.mu.RUnlock()
	res := ReloadResult{NotApplied: notApplied(cur, next)}
	tx := &reloadTx{h: h, ctx: ctx, next: next}
	if diags := tx.prepare(); len(diags) > 0 {
		tx.rollback()
		return ReloadResult{}, &ReloadRefused{Diagnostics: diags}
	}
	for _, name := range res.NotApplied {
		h.log.Warn("configuration block changed; restart to apply it", "block", name)
	}
	tx.commit(cur, &res)
	return res, nil
}

// notApplied names the blocks that differ between cur and next and that a
// reload leaves as they run: they are read once, at start.
func notApplied(cur, next *config.Config) []string {
	var names []string
	for name, pair := range map[string][2]any{
		"transport": {cur.Transport, next.Transport}, "admin": {cur.Admin, next.Admin},
		"log": {cur.Log, next.Log}, "host": {cur.Host, next.Host},
		"telemetry": {cur.Telemetry, next.Telemetry},
	} {
		if !sameBlock(pair[0], pair[1]) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// reloadTx is a reload in progress: what it started beside the running
// host, to switch to (commit) or stop again (rollback).
type reloadTx struct {
	h    *Host
	ctx  context.Context
	next *config.Config

	fresh    []*supervisor.Plugin  // new plugins, started
	swaps    []*supervisor.Pending // changed plugins: a new generation each, started
	keep     []keptPlugin          // unchanged plugins
	servers  []*serverEntry        // new and changed servers, consuming
	lsns     []*listenerEntry
	retiring []runningBlock // servers and listeners removed or replaced
}

type keptPlugin struct {
	p   *supervisor.Plugin
	cfg *config.Plugin
}

// prepare starts what the new configuration adds or changes, beside the
// running host; it returns the problems (with their place in the
// configuration) when anything did not start.
func (tx *reloadTx) prepare() []string {
	h := tx.h
	var diags []string
	var freshCfgs []*config.Plugin
	for _, pc := range usedPlugins(tx.next) {
		p := h.sup.Plugin(pc.Name)
		switch {
		case p == nil:
			freshCfgs = append(freshCfgs, pc)
		case !sameBlock(*p.Config(), *pc):
			pd, err := p.Prepare(tx.ctx, pc) // no swap or restart of p until commit or rollback
			if err != nil {
				diags = append(diags, at(pc.Source, supervisor.BlamedAttr(err), err))
				continue
			}
			tx.swaps = append(tx.swaps, pd)
		default:
			tx.keep = append(tx.keep, keptPlugin{p: p, cfg: pc})
		}
	}
	// No running server or listener uses the new plugins yet.
	for i, err := range h.sup.StartAll(tx.ctx, freshCfgs) {
		if p := h.sup.Plugin(freshCfgs[i].Name); p != nil {
			tx.fresh = append(tx.fresh, p)
		}
		if err != nil {
			diags = append(diags, at(freshCfgs[i].Source, supervisor.BlamedAttr(err), err))
		}
	}
	if len(diags) > 0 {
		return diags
	}

	h.mu.RLock()
	servers, lsns := maps.Clone(h.servers), maps.Clone(h.lsns)
	h.mu.RUnlock()
	for _, sc := range tx.next.Servers {
		if e := servers[sc.Name]; e != nil && sameBlock(*e.cfg, *sc) && sameBlock(*e.exec, *tx.next.Executor(sc.Executor)) {
			delete(servers, sc.Name) // kept
			continue
		}
		e, err := h.newServer(tx.ctx, tx.next, sc)
		if err != nil {
			diags = append(diags, at(sc.Source, "", err))
			if servers[sc.Name] == nil { // not one replacing a running server: its series go
				h.metrics.forgetServer(sc.Name)
			}
			continue
		}
		tx.servers = append(tx.servers, e)
	}
	for _, lc := range tx.next.Listeners {
		if e := lsns[lc.Name]; e != nil && sameBlock(*e.cfg, *lc) && sameBlock(*e.exec, *tx.next.Executor(lc.Executor)) {
			delete(lsns, lc.Name)
			continue
		}
		e, err := h.newListener(tx.ctx, tx.next, lc)
		if err != nil {
			diags = append(diags, at(lc.Source, "", err))
			continue
		}
		tx.lsns = append(tx.lsns, e)
	}
	for _, e := range servers { // removed or replaced
		tx.retiring = append(tx.retiring, e)
	}
	for _, e := range lsns {
		tx.retiring = append(tx.retiring, e)
	}
	return diags
}

// rollback stops everything prepare started; the running host is as it was.
func (tx *reloadTx) rollback() {
	h := tx.h
	ctx, cancel := context.WithTimeout(context.Background(), h.drainTimeout())
	defer cancel()
	h.mu.RLock()
	servers, lsns := maps.Clone(h.servers), maps.Clone(h.lsns)
	h.mu.RUnlock()
	for _, e := range tx.servers {
		_ = e.shutdown(ctx)
		if servers[e.cfg.Name] == nil { // a replacement shares the running one's series
			h.metrics.forgetServer(e.cfg.Name)
		}
	}
	for _, e := range tx.lsns {
		_ = e.shutdown(ctx)
		if lsns[e.cfg.Name] == nil {
			h.metrics.forgetListener(e.cfg.Name)
		}
	}
	for _, pd := range tx.swaps {
		pd.Discard(ctx)
	}
	for _, p := range tx.fresh {
		h.sup.Remove(ctx, p)
		h.metrics.forgetPlugin(p.Name())
	}
}

// commit switches the host to what prepare started and stops what the new
// configuration no longer has. cur is the running configuration.
func (tx *reloadTx) commit(cur *config.Config, res *ReloadResult) {
	h := tx.h
	for _, pd := range tx.swaps {
		sr, _ := pd.Commit(tx.ctx) // fails only when stopped meanwhile; logged there
		res.PluginsSwapped = append(res.PluginsSwapped, SwapResult(sr))
	}
	for _, k := range tx.keep {
		k.p.SetConfig(k.cfg) // the same settings; keep the new source position
	}
	for _, p := range tx.fresh {
		res.PluginsStarted = append(res.PluginsStarted, p.Name())
	}
	used := map[string]bool{}
	for _, pc := range usedPlugins(tx.next) {
		used[pc.Name] = true
	}
	h.mu.Lock()
	install(h.servers, tx.servers, &res.ServersReplaced, &res.ServersStarted)
	install(h.lsns, tx.lsns, &res.ListenersReplaced, &res.ListenersStarted)
	for _, r := range tx.retiring {
		switch e := r.(type) {
		case *serverEntry:
			if h.servers[e.cfg.Name] == e {
				delete(h.servers, e.cfg.Name)
				res.ServersStopped = append(res.ServersStopped, e.cfg.Name)
			}
		case *listenerEntry:
			if h.lsns[e.cfg.Name] == e {
				delete(h.lsns, e.cfg.Name)
				res.ListenersStopped = append(res.ListenersStopped, e.cfg.Name)
			}
		}
	}
	for _, sc := range tx.next.Servers { // kept servers: the new source position
		if e := h.servers[sc.Name]; e != nil && e.cfg != sc && sameBlock(*e.cfg, *sc) {
			e.cfg = sc
		}
	}
	kept := *tx.next
	kept.Transport, kept.Admin, kept.Log, kept.Host = cur.Transport, cur.Admin, cur.Log, cur.Host
	h.cfg = &kept
	entries := slices.Collect(maps.Values(h.servers))
	h.mu.Unlock()
	h.pruneDuplicates(tx.next)
	for _, e := range entries { // swapped plugins may describe other methods
		e.setEndpoints(h.endpointsOf(e.cfg))
	}
	for _, r := range tx.retiring {
		dctx, cancel := context.WithTimeout(context.Background(), h.drainTimeout())
		if err := r.shutdown(dctx); err != nil {
			h.log.Warn("stopping a replaced or removed block", "name", r.name(), "error", err)
		}
		cancel()
	}
	// The series of what is gone go too (those of replaced blocks stay).
	for _, name := range res.ServersStopped {
		h.metrics.forgetServer(name)
	}
	for _, name := range res.ListenersStopped {
		h.metrics.forgetListener(name)
	}
	for _, p := range h.sup.Plugins() {
		if used[p.Name()] {
			continue
		}
		dctx, cancel := context.WithTimeout(context.Background(), h.drainTimeout())
		h.sup.Remove(dctx, p)
		cancel()
		h.metrics.forgetPlugin(p.Name())
		res.PluginsStopped = append(res.PluginsStopped, p.Name())
	}
	for _, l := range [][]string{res.PluginsStarted, res.PluginsStopped, res.ServersStarted, res.ServersReplaced,
		res.ServersStopped, res.ListenersStarted, res.ListenersReplaced, res.ListenersStopped} {
		slices.Sort(l)
	}
	if err := h.startWatcher(); err != nil {
		h.log.Warn("watching plugin binaries", "error", err)
	}
}

// at is a problem with its place in the configuration: the attribute attr
// of the block src, or the block itself when attr is "".
func at(src config.Source, attr string, err error) string {
	r := src.Range
	if attr != "" {
		r = src.AttrRange(attr)
	}
	if r.Filename == "" {
		return err.Error()
	}
	return fmt.Sprintf("%s:%d: %v", r.Filename, r.Start.Line, err)
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
	shutdown(ctx context.Context) error
}

// install puts each of blocks into running under its name, listing the
// name in replaced when it took another block's place, else in started.
func install[B runningBlock](running map[string]B, blocks []B, replaced, started *[]string) {
	for _, b := range blocks {
		if _, ok := running[b.name()]; ok {
			*replaced = append(*replaced, b.name())
		} else {
			*started = append(*started, b.name())
		}
		running[b.name()] = b
	}
}

func (e *serverEntry) name() string                       { return e.cfg.Name }
func (e *serverEntry) shutdown(ctx context.Context) error { return e.srv.Shutdown(ctx) }

func (e *listenerEntry) name() string                       { return e.cfg.Name }
func (e *listenerEntry) shutdown(ctx context.Context) error { return e.l.Shutdown(ctx) }
