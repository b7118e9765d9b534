package supervisor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/plugin/pluginv1"
)

// pluginProc is one running generation of an endpoint plugin.
type pluginProc struct {
	name   string
	cfg    *config.Plugin
	client *plugin.Client
	ep     pluginv1.Endpoint
	desc   *pluginv1.DescribeResponse
	path   string
	sha256 string // of the binary as started
	log    hclog.Logger
	// done is closed once the process has exited (go-plugin's wait on it
	// returned), whatever ended it; set by the handshake.
	done <-chan struct{}
}

// exitWatch is pluginv1's go-plugin glue keeping the context go-plugin
// hands to GRPCClient: go-plugin cancels it when the plugin process has
// exited, after its wait on the process returned (and Exited is true). It
// is the supervisor's only source of exits: nothing polls.
type exitWatch struct {
	*pluginv1.GRPCPlugin
	done <-chan struct{}
}

func (w *exitWatch) GRPCClient(ctx context.Context, b *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	w.done = ctx.Done()
	return w.GRPCPlugin.GRPCClient(ctx, b, c)
}

// exited reports whether the process has exited.
func (p *pluginProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// startProcess launches the plugin's binary, configures it and asks it to
// describe its endpoints. exe, unless empty, is the file to run instead of
// the command path (a pinned binary; the process still sees the command
// path as its argv[0]). hostSvc, unless nil, is served to the plugin over
// go-plugin's broker as the Host service; tel, unless nil, is the tracing
// the plugin exports with. On any failure the process is stopped again.
func startProcess(ctx context.Context, cfg *config.Plugin, exe string, hostSvc pluginv1.HostServer, tel *pluginv1.Telemetry, log hclog.Logger) (*pluginProc, error) {
	path := Command(cfg)
	if exe == "" {
		exe = path
	}
	if st, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("plugin %q: command %s: %w", cfg.Name, path, err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("plugin %q: command %s is not an executable file", cfg.Name, path)
	}
	cmd := exec.Command(exe, cfg.Args...)
	cmd.Args[0] = path
	cmd.Env = pluginEnv(cfg.Env)
	setPdeathsig(cmd)
	opts := []pluginv1.ClientOption{pluginv1.WithMaxMessageSize(cfg.MaxMessageSize)}
	if cfg.SHA256 != "" {
		sum, err := hex.DecodeString(cfg.SHA256)
		if err != nil {
			return nil, fmt.Errorf("plugin %q: sha256: %w", cfg.Name, err)
		}
		opts = append(opts, pluginv1.WithSecureConfig(&plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}))
	}
	plog := log.Named("plugin").Named(cfg.Name)
	// go-plugin names the logger of the plugin's stderr after the binary
	// again; one name is enough.
	ccfg := pluginv1.ClientConfig(cmd, namedOnce{plog, filepath.Base(path)}, opts...)
	if cfg.StartTimeout > 0 {
		ccfg.StartTimeout = cfg.StartTimeout.Duration()
	}
	stderr := &tailWriter{}
	ccfg.Stderr = stderr // what the plugin said before it failed to start
	gp, ok := ccfg.Plugins[pluginv1.PluginName].(*pluginv1.GRPCPlugin)
	if !ok {
		return nil, fmt.Errorf("plugin %q: pluginv1.ClientConfig has no %s plugin", cfg.Name, pluginv1.PluginName)
	}
	watch := &exitWatch{GRPCPlugin: gp}
	ccfg.Plugins = plugin.PluginSet{pluginv1.PluginName: watch}
	p := &pluginProc{name: cfg.Name, cfg: cfg, client: plugin.NewClient(ccfg), path: path, sha256: fileSHA256(exe), log: plog}
	if err := p.handshake(ctx, hostSvc, tel); err != nil {
		p.client.Kill()
		return nil, explainStart(err, stderr)
	}
	if p.done = watch.done; p.done == nil { // go-plugin did not call GRPCClient: cannot happen after Dispense
		p.client.Kill()
		return nil, fmt.Errorf("plugin %q: no exit notice from go-plugin", cfg.Name)
	}
	return p, nil
}

func (p *pluginProc) handshake(ctx context.Context, hostSvc pluginv1.HostServer, tel *pluginv1.Telemetry) error {
	rpc, err := p.client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return &startError{attr: "sha256", err: fmt.Errorf("plugin %q: %s does not match the pinned sha256: the file's sha256 is %s",
				p.name, p.path, orUnreadable(fileSHA256(p.path)))}
		}
		return fmt.Errorf("plugin %q: start %s: %w", p.name, p.path, err)
	}
	if p.ep, err = pluginv1.Dispense(rpc); err != nil {
		return fmt.Errorf("plugin %q: %w", p.name, err)
	}
	var copts []pluginv1.ConfigureOption
	if hostSvc != nil {
		id, err := pluginv1.ServeHost(p.ep, hostSvc)
		if err != nil {
			return fmt.Errorf("plugin %q: host service: %w", p.name, err)
		}
		copts = append(copts, pluginv1.WithHostService(id))
	}
	copts = append(copts, pluginv1.WithTelemetry(tel))
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.ep.Configure(ctx, p.name, p.cfg.Config, copts...); err != nil {
		// The plugin's own words, not gRPC's "rpc error: code = … desc = …".
		return &startError{attr: "config", err: fmt.Errorf("plugin %q: configure: %s", p.name, status.Convert(err).Message())}
	}
	if p.desc, err = p.ep.Describe(ctx); err != nil {
		return fmt.Errorf("plugin %q: describe: %w", p.name, err)
	}
	if len(p.desc.GetEndpoints()) == 0 && len(p.desc.GetNotificationHandlers()) == 0 {
		return fmt.Errorf("plugin %q: describes no endpoints and no notification handlers", p.name)
	}
	p.log.Info("plugin started", "path", p.path, "version", p.desc.GetPluginVersion(), "endpoints", describeSummary(p.desc))
	return nil
}

// Probe runs the start of the plugin of block cfg as the supervisor does
// (launch, configure, describe; no Host service) and stops it again: the
// check of a configuration without serving it. Its error is a start
// failure, see [BlamedAttr].
func Probe(ctx context.Context, cfg *config.Plugin, log hclog.Logger) error {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	p, err := startProcess(ctx, cfg, "", nil, nil, log)
	if err != nil {
		return err
	}
	p.stop(ctx)
	log.Info("plugin ok", "plugin", cfg.Name, "endpoints", fmt.Sprint(describeSummary(p.desc)))
	return nil
}

// stop runs the plugin's close hook (bounded by ctx) and ends the process.
func (p *pluginProc) stop(ctx context.Context) {
	if p.ep != nil && !p.exited() {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := p.ep.Close(cctx); err != nil {
			p.log.Debug("close hook", "error", err)
		}
		cancel()
	}
	p.client.Kill()
}

// Command is the file the plugin's command names, as an absolute
// path: a relative command is taken from the directory of the config file
// that declares it. A command is always a file, never looked up on $PATH
// (exec.Command searches $PATH for a name without a slash, and
// filepath.Join(".", "./x") is "x").
func Command(cfg *config.Plugin) string {
	p := cfg.Command
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(cfg.Range.Filename), p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func orUnreadable(sum string) string {
	if sum == "" {
		return "unknown (unreadable)"
	}
	return sum
}

// pluginEnv is the plugin's whole environment: what its block gives.
func pluginEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func describeSummary(d *pluginv1.DescribeResponse) []string {
	var out []string
	for _, e := range d.GetEndpoints() {
		ns := e.GetNamespace()
		if ns == "" {
			ns = "(default)"
		}
		v := e.GetVersion()
		if v == "" {
			v = "1.0"
		}
		out = append(out, fmt.Sprintf("%s@%s:%d methods", ns, v, len(e.GetMethods())))
	}
	return out
}
