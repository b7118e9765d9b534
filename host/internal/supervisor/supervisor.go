package supervisor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// Config is everything a Supervisor takes from its owner. None of it points
// back at the owner: the owner hands values and callbacks.
type Config struct {
	// HostService is served to every plugin over go-plugin's broker as the
	// Host service (plugin/pluginv1/host.proto); nil serves none.
	HostService pluginv1.HostServer
	// Settings returns the drain and probation settings in force. It is
	// called at each swap (so a change applies to the next one), never with
	// a supervisor lock held; nil means the zero Settings.
	Settings func() Settings
	// Observer is told what metrics count; nil for none.
	Observer Observer
	// EndpointsChanged is called after a plugin's serving generation
	// changed (swap, rollback, restart), with no supervisor lock held, so
	// the owner can rebuild what routes to the plugin; nil for none.
	EndpointsChanged func(plugin string)
	// Telemetry returns the tracing settings a plugin is configured with
	// (nil when the host traces nothing); nil for none.
	Telemetry func(plugin string) *pluginv1.Telemetry
	// Logger is the parent logger: a plugin logs under
	// Named("plugin").Named(name). Nil discards.
	Logger hclog.Logger
}

// Settings are the host-wide drain and probation settings; a plugin block's
// drain_ceiling and probation override theirs.
type Settings struct {
	// DrainTimeout: the calls of a replaced generation whose caller gave no
	// deadline are cut this long after the swap.
	DrainTimeout time.Duration
	// DrainCeiling: every call of a replaced generation still running this
	// long after the swap is cut.
	DrainCeiling time.Duration
	// MaxDraining bounds the old generations of one plugin still finishing
	// calls; a swap beyond it is queued. 0 means no bound.
	MaxDraining int
	// Probation is how long a swapped-in generation must stay up; if it
	// dies before, the previous one serves again. 0 means none.
	Probation time.Duration
}

// Swap results, as Observer.PluginSwapped gets them.
const (
	SwapOK         = "ok"
	SwapFailed     = "failed"
	SwapRolledBack = "rolled_back"
)

// Observer receives the events the owner's metrics count. Its methods are
// called from the supervisor's goroutines with no supervisor lock held; they
// must not block.
type Observer interface {
	// PluginUp: the plugin has (up) or has no serving process now.
	PluginUp(plugin string, up bool)
	// PluginRestarted: a restart after a crash is being attempted.
	PluginRestarted(plugin string)
	// PluginSwapped: a swap ended with result (SwapOK, SwapFailed,
	// SwapRolledBack).
	PluginSwapped(plugin, result string)
}

type nopObserver struct{}

func (nopObserver) PluginUp(string, bool)        {}
func (nopObserver) PluginRestarted(string)       {}
func (nopObserver) PluginSwapped(string, string) {}

// ErrShutdown: the supervisor was shut down.
var ErrShutdown = errors.New("supervisor is shut down")

// Supervisor owns the plugin processes of a host: each configured plugin,
// its generations, swaps, drains and restarts. Its methods are safe for
// concurrent use; Shutdown is idempotent.
type Supervisor struct {
	cfg Config
	obs Observer
	log hclog.Logger

	mu       sync.RWMutex
	plugins  map[string]*Plugin
	shutdown bool
}

// New returns a supervisor with no plugins.
func New(cfg Config) *Supervisor {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	return &Supervisor{cfg: cfg, obs: obs, log: cfg.Logger, plugins: map[string]*Plugin{}}
}

func (s *Supervisor) settings() Settings {
	if s.cfg.Settings == nil {
		return Settings{}
	}
	return s.cfg.Settings()
}

func (s *Supervisor) endpointsChanged(name string) {
	if s.cfg.EndpointsChanged != nil {
		s.cfg.EndpointsChanged(name)
	}
}

// Add registers the plugin of block cfg and starts its first generation. On
// failure the plugin stays registered, stopped, with the error in its
// Status, until Remove. A name already registered is an error.
func (s *Supervisor) Add(ctx context.Context, cfg *config.Plugin) (*Plugin, error) {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, ErrShutdown
	}
	if s.plugins[cfg.Name] != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("plugin %q is already running", cfg.Name)
	}
	p := newPlugin(s, cfg)
	s.plugins[cfg.Name] = p
	s.mu.Unlock()
	return p, p.start(ctx)
}

// StartAll adds the plugins in parallel; errs[i] is the error of cfgs[i].
func (s *Supervisor) StartAll(ctx context.Context, cfgs []*config.Plugin) (errs []error) {
	var wg sync.WaitGroup
	errs = make([]error, len(cfgs))
	for i, pc := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Add(ctx, pc)
		}()
	}
	wg.Wait()
	return errs
}

// Plugin is the registered plugin called name, nil if none.
func (s *Supervisor) Plugin(name string) *Plugin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.plugins[name]
}

// Plugins are the registered plugins, by name.
func (s *Supervisor) Plugins() []*Plugin {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := slices.Sorted(maps.Keys(s.plugins))
	out := make([]*Plugin, len(names))
	for i, n := range names {
		out[i] = s.plugins[n]
	}
	return out
}

// Remove unregisters p and stops it: its serving generation drains until
// ctx ends, then every process of it is stopped.
func (s *Supervisor) Remove(ctx context.Context, p *Plugin) {
	s.mu.Lock()
	if s.plugins[p.name] == p {
		delete(s.plugins, p.name)
	}
	s.mu.Unlock()
	p.stop(ctx)
}

// Shutdown stops every plugin in parallel, draining their calls until ctx
// ends; nothing can be added afterwards. It is idempotent.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	plugins := slices.Collect(maps.Values(s.plugins))
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range plugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(ctx)
		}()
	}
	wg.Wait()
	return nil
}
