package host

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/host/internal/supervisor"
	"github.com/oslohost/oslohost/internal/dedup"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
)

// Loader re-reads the configuration for a reload. Its error should carry
// the diagnostics as text.
type Loader func() (*config.Config, error)

// Option configures a Host.
type Option func(*Host)

// WithLoader lets the host reload its configuration (SIGHUP, the admin
// API's POST /v1/reload).
func WithLoader(l Loader) Option { return func(h *Host) { h.loader = l } }

// Host runs one configuration: plugins, the broker connection, the RPC
// servers and the admin API, and applies reloads and hot swaps. Its methods
// are safe for concurrent use; Shutdown is idempotent.
type Host struct {
	log     hclog.Logger
	url     *rabbit.URL
	loader  Loader
	metrics *metrics
	sup     *supervisor.Supervisor // the plugins

	mu        sync.RWMutex
	cfg       *config.Config
	conn      *rabbit.Conn
	hostSvc   *hostService  // the Host service of the plugins
	connReady chan struct{} // closed once conn is set
	servers   map[string]*serverEntry
	lsns      map[string]*listenerEntry
	dups      map[string]*dedup.Window // by block, see duplicates
	admin     *http.Server
	adminLn   net.Listener
	watch     *watcher
	brokerErr error // why the broker connection is down
	started   bool
	shutdown  bool

	reloadMu sync.Mutex // one reload at a time

	stopTracing func(context.Context) error // set when a telemetry block turned tracing on
}

// serverEntry is one running server block.
type serverEntry struct {
	cfg  *config.Server
	exec *config.Executor
	srv  *server.Server
	disp *server.Dispatcher
	obs  *serverObserver
}

// setEndpoints changes what the server dispatches to, and so which method
// names its metrics know.
func (e *serverEntry) setEndpoints(eps []server.Endpoint) {
	e.disp.SetEndpoints(eps)
	e.obs.setMethods(eps)
}

// New prepares a host for cfg; nothing starts until Start.
func New(cfg *config.Config, log hclog.Logger, opts ...Option) (*Host, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	u, err := transportURL(cfg.Transport)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	h := &Host{
		cfg: cfg, log: log, url: u, metrics: newMetrics(),
		servers: map[string]*serverEntry{}, lsns: map[string]*listenerEntry{},
		dups: map[string]*dedup.Window{}, connReady: make(chan struct{}),
	}
	h.hostSvc = newHostService(h)
	h.sup = supervisor.New(supervisor.Config{
		HostService:      h.hostSvc,
		Settings:         h.pluginSettings,
		Observer:         pluginObserver{h.metrics},
		EndpointsChanged: h.refreshEndpoints,
		Telemetry:        pluginTelemetry,
		Logger:           log,
	})
	h.metrics.reg.MustRegister(swapCollector{h.sup}, consumerCollector{h})
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Start starts the admin API, the plugins the servers use, connects to the
// broker (waiting for it until ctx ends) and starts every server. If
// anything fails, what had started is stopped again and the error returned.
func (h *Host) Start(ctx context.Context) (err error) {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("host already started")
	}
	h.started = true
	cfg := h.cfg
	h.mu.Unlock()
	defer func() {
		if err != nil {
			_ = h.Shutdown(context.Background())
		}
	}()
	if err := h.startTelemetry(ctx, cfg.Telemetry); err != nil {
		return err
	}
	if err := h.startAdmin(cfg.Admin); err != nil {
		return err
	}
	if err := errors.Join(h.sup.StartAll(ctx, usedPlugins(cfg))...); err != nil {
		return err
	}
	h.log.Info("connecting to broker", "url", h.url.Redacted())
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: h.url, Name: "oslohost", Logger: h.log.Named("rabbit"),
		RetryRefused: true, // the broker's users may be fixed while the host waits
		OnConnect: func(gen uint64) {
			h.setBrokerError(nil)
			if gen > 1 {
				h.metrics.reconnects.Inc()
			}
		},
		OnDown: h.setBrokerError,
	})
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.conn = conn
	h.mu.Unlock()
	close(h.connReady)
	for _, sc := range cfg.Servers {
		if err := h.startServer(ctx, cfg, sc); err != nil {
			return err
		}
	}
	for _, lc := range cfg.Listeners {
		if err := h.startListener(ctx, cfg, lc); err != nil {
			return err
		}
	}
	if err := h.startWatcher(); err != nil {
		return err
	}
	h.log.Info("host ready", "servers", len(cfg.Servers), "listeners", len(cfg.Listeners), "plugins", len(h.sup.Plugins()))
	return nil
}

func (h *Host) setBrokerError(err error) {
	h.mu.Lock()
	h.brokerErr = err
	h.mu.Unlock()
}

// usedPlugins are the plugin blocks some server or listener uses, in
// config order.
func usedPlugins(cfg *config.Config) []*config.Plugin {
	used := map[string]bool{}
	for _, s := range cfg.Servers {
		for _, p := range s.Plugins {
			used[p] = true
		}
	}
	for _, l := range cfg.Listeners {
		for _, p := range l.Plugins {
			used[p] = true
		}
	}
	var out []*config.Plugin
	for _, p := range cfg.Plugins {
		if used[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

func (h *Host) startServer(ctx context.Context, cfg *config.Config, sc *config.Server) error {
	e, err := h.newServer(ctx, cfg, sc)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.servers[sc.Name] = e
	h.mu.Unlock()
	return nil
}

// blockExecutor makes the executor named executor of the block (a server
// or listener) called name.
func blockExecutor(cfg *config.Config, block, name, executor string) (*config.Executor, executors.Executor, error) {
	ec := cfg.Executor(executor)
	if ec == nil {
		return nil, nil, fmt.Errorf("%s %q: no executor %q", block, name, executor)
	}
	exec, err := executors.New(string(ec.Kind), ec.Workers)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %q: executor %q: %w", block, name, ec.Name, err)
	}
	return ec, exec, nil
}

// newServer starts a server block consuming, without adding it to the
// host's servers.
func (h *Host) newServer(ctx context.Context, cfg *config.Config, sc *config.Server) (*serverEntry, error) {
	ec, exec, err := blockExecutor(cfg, "server", sc.Name, sc.Executor)
	if err != nil {
		return nil, err
	}
	e := &serverEntry{cfg: sc, exec: ec, disp: server.NewDispatcher(), obs: h.metrics.observer(sc.Name)}
	e.setEndpoints(h.endpointsOf(sc))
	srv, err := server.New(h.transport(cfg), server.Config{
		Exchange:    sc.Exchange,
		Target:      oslo.Target{Topic: sc.Topic, Server: sc.Server},
		NoFanout:    !sc.Fanout,
		Dispatcher:  e.disp,
		Executor:    exec,
		Prefetch:    cfg.Transport.Prefetch,
		MaxBodySize: cfg.Host.MaxMessageSize,
		Logger:      h.log.Named("server").Named(sc.Name),
		Observer:    e.obs,
		Duplicates:  h.duplicates("server", sc.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", sc.Name, err)
	}
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("server %q: %w", sc.Name, err)
	}
	e.srv = srv
	return e, nil
}

// endpointsOf builds a server's endpoints from its plugins, in the order
// the plugins are listed and each plugin describes them.
func (h *Host) endpointsOf(sc *config.Server) []server.Endpoint {
	var eps []server.Endpoint
	for _, name := range sc.Plugins {
		if p := h.sup.Plugin(name); p != nil {
			eps = append(eps, pluginEndpoints(p, sc.CallTimeout.Duration())...)
		}
	}
	return eps
}

// pluginEndpoints are the dispatcher endpoints of plugin p: one forwarder
// per method its serving generation describes.
func pluginEndpoints(p *supervisor.Plugin, timeout time.Duration) []server.Endpoint {
	var eps []server.Endpoint
	for _, e := range p.Describe().GetEndpoints() {
		ep := server.Endpoint{
			Namespace: e.GetNamespace(), LegacyNamespaces: e.GetLegacyNamespaces(), Version: e.GetVersion(),
			Methods: make(map[string]server.Handler, len(e.GetMethods())),
		}
		for _, m := range e.GetMethods() {
			ep.Methods[m] = &forwarder{plugin: p, namespace: e.GetNamespace(), version: e.GetVersion(), method: m, timeout: timeout}
		}
		eps = append(eps, ep)
	}
	return eps
}

// refreshEndpoints rebuilds the endpoints of every server using plugin.
func (h *Host) refreshEndpoints(plugin string) {
	h.mu.RLock()
	var entries []*serverEntry
	for _, e := range h.servers {
		for _, p := range e.cfg.Plugins {
			if p == plugin {
				entries = append(entries, e)
				break
			}
		}
	}
	h.mu.RUnlock()
	for _, e := range entries {
		e.setEndpoints(h.endpointsOf(e.cfg))
	}
}

// pluginSettings are the supervisor's settings from the host block in
// force.
func (h *Host) pluginSettings() supervisor.Settings {
	h.mu.RLock()
	defer h.mu.RUnlock()
	hc := h.cfg.Host
	return supervisor.Settings{
		DrainTimeout: hc.DrainTimeout.Duration(), DrainCeiling: hc.DrainCeiling.Duration(),
		MaxDraining: hc.MaxDraining, Probation: hc.Probation.Duration(),
	}
}

func (h *Host) drainTimeout() time.Duration {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if d := h.cfg.Host.DrainTimeout.Duration(); d > 0 {
		return d
	}
	return 30 * time.Second
}

// Run starts the host, serves until ctx ends, then shuts down gracefully
// within the configured shutdown timeout.
func (h *Host) Run(ctx context.Context) error {
	if err := h.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	h.log.Info("shutting down")
	h.mu.RLock()
	timeout := h.cfg.Host.ShutdownTimeout.Duration()
	h.mu.RUnlock()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.Shutdown(sctx)
}

// Shutdown stops consuming, lets in-flight calls finish (until ctx ends),
// stops the plugins, closes the broker connection and the admin API, in
// that order.
func (h *Host) Shutdown(ctx context.Context) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.mu.Lock()
	if h.shutdown {
		h.mu.Unlock()
		return nil
	}
	h.shutdown = true
	servers := h.servers
	lsns := h.lsns
	conn, admin, w := h.conn, h.admin, h.watch
	h.mu.Unlock()

	if w != nil {
		w.close()
	}
	var shutdowns []func(context.Context) error
	for _, e := range servers {
		shutdowns = append(shutdowns, e.srv.Shutdown)
	}
	for _, e := range lsns {
		shutdowns = append(shutdowns, e.l.Shutdown)
	}
	err := shutdownAll(ctx, shutdowns)
	_ = h.sup.Shutdown(ctx)
	if conn != nil {
		_ = conn.Close()
	}
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = admin.Shutdown(sctx)
		cancel()
	}
	h.stopTelemetry(ctx)
	h.log.Info("host stopped")
	return err
}

// shutdownAll runs the shutdowns at once and joins their errors.
func shutdownAll(ctx context.Context, shutdowns []func(context.Context) error) error {
	errs := make([]error, len(shutdowns))
	var wg sync.WaitGroup
	for i, shutdown := range shutdowns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = shutdown(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
