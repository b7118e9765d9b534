package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/executors"
	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/server"
)

// Host runs one configuration: plugins, the broker connection and the RPC
// servers. Start, Run and Shutdown are safe for concurrent use; Shutdown is
// idempotent.
type Host struct {
	cfg *config.Config
	log hclog.Logger
	url *rabbit.URL

	mu       sync.Mutex
	conn     *rabbit.Conn
	plugins  map[string]*pluginProc
	execs    map[string]executors.Executor
	servers  []*server.Server
	started  bool
	shutdown bool
}

// New prepares a host for cfg; nothing starts until Start.
func New(cfg *config.Config, log hclog.Logger) (*Host, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	u, err := transportURL(cfg.Transport)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	return &Host{cfg: cfg, log: log, url: u, plugins: map[string]*pluginProc{}, execs: map[string]executors.Executor{}}, nil
}

// Start launches the plugins the servers use, connects to the broker
// (waiting for it until ctx ends) and starts every server. If anything
// fails, what had started is stopped again and the error returned.
func (h *Host) Start(ctx context.Context) (err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return errors.New("host already started")
	}
	h.started = true
	defer func() {
		if err != nil {
			h.stopLocked(context.Background())
		}
	}()
	if err := h.startPlugins(ctx); err != nil {
		return err
	}
	h.log.Info("connecting to broker", "url", h.url.Redacted())
	conn, err := rabbit.Dial(ctx, rabbit.Config{URL: h.url, Name: "oslohost", Logger: h.log.Named("rabbit")})
	if err != nil {
		return err
	}
	h.conn = conn
	for _, e := range h.cfg.Executors {
		ex, err := executors.New(string(e.Kind), e.Workers)
		if err != nil {
			return fmt.Errorf("executor %q: %w", e.Name, err)
		}
		h.execs[e.Name] = ex
	}
	for _, sc := range h.cfg.Servers {
		if err := h.startServer(ctx, sc); err != nil {
			return err
		}
	}
	h.log.Info("host ready", "servers", len(h.servers), "plugins", len(h.plugins))
	return nil
}

// startPlugins starts every plugin a server uses, in parallel.
func (h *Host) startPlugins(ctx context.Context) error {
	used := map[string]bool{}
	for _, s := range h.cfg.Servers {
		for _, p := range s.Plugins {
			used[p] = true
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, pc := range h.cfg.Plugins {
		if !used[pc.Name] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := startPlugin(ctx, pc, pc.MaxMessageSize, h.log)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			h.plugins[pc.Name] = p
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (h *Host) startServer(ctx context.Context, sc *config.Server) error {
	var procs []*pluginProc
	for _, name := range sc.Plugins {
		procs = append(procs, h.plugins[name])
	}
	srv, err := server.New(server.Config{
		Conn:        h.conn,
		Options:     h.url.Options,
		Exchange:    sc.Exchange,
		Target:      oslo.Target{Topic: sc.Topic, Server: sc.Server},
		NoFanout:    !sc.Fanout,
		Dispatcher:  server.NewDispatcher(endpointsFor(procs, sc.CallTimeout.Duration())...),
		Executor:    h.execs[sc.Executor],
		Prefetch:    h.cfg.Transport.Prefetch,
		MaxBodySize: h.cfg.Host.MaxMessageSize,
		Logger:      h.log.Named("server").Named(sc.Name),
	})
	if err != nil {
		return fmt.Errorf("server %q: %w", sc.Name, err)
	}
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("server %q: %w", sc.Name, err)
	}
	h.servers = append(h.servers, srv)
	return nil
}

// Run starts the host, serves until ctx ends, then shuts down gracefully
// within the configured shutdown timeout.
func (h *Host) Run(ctx context.Context) error {
	if err := h.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	h.log.Info("shutting down")
	timeout := h.cfg.Host.ShutdownTimeout.Duration()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.Shutdown(sctx)
}

// Shutdown stops consuming, lets in-flight calls finish (until ctx ends),
// stops the plugins and closes the broker connection, in that order.
func (h *Host) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stopLocked(ctx)
}

func (h *Host) stopLocked(ctx context.Context) error {
	if h.shutdown {
		return nil
	}
	h.shutdown = true
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range h.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, p := range h.plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(ctx)
		}()
	}
	wg.Wait()
	if h.conn != nil {
		_ = h.conn.Close()
	}
	h.log.Info("host stopped")
	return errors.Join(errs...)
}
