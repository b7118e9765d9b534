package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/host"
	"github.com/oslohost/oslohost/host/config"
)

// shutdownSignals stop the host gracefully; a second one while it drains
// ends the process at once.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func newRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run CONFIG...",
		Short: "Run the host: serve the configured RPC servers until interrupted",
		Long: `Run loads the configuration (files, or directories of *.hcl files, merged),
starts the plugins, connects to the broker and serves the configured RPC
servers until SIGINT or SIGTERM. It then stops consuming, lets in-flight calls
finish (up to host.shutdown_timeout), stops the plugins and exits with status
0. A second SIGINT or SIGTERM during that drain exits at once with status 1.

Blocks that clash on the broker, as 'oslohost plan' shows them (two blocks
consuming one queue, each getting part of the other's messages; one queue
or exchange declared two ways), are printed as warnings at start; plan and
validate refuse them.

Logs go to stderr as the log block says (level, text or json).

Go processors: on a machine with at most 2 CPUs for the process (CPU
affinity and cgroup quota count), the host runs on one Go processor
(GOMAXPROCS=1) and starts its plugins with GOMAXPROCS=1, which is what such
a machine, shared with the broker, runs fastest with; with more CPUs Go's
default stays. An explicit GOMAXPROCS in the host's environment, or
host { gomaxprocs = N }, decides instead (for the host and the plugins), and
a plugin's own env = { GOMAXPROCS = ... } wins for that plugin.
SIGHUP re-reads the configuration and applies the difference (see
'oslohost reload'); a configuration that does not load is refused and the
running one stays.`,
		Example: `  oslohost run config.hcl
  oslohost run /etc/oslohost/`,
		Args: requireArgs(1, "CONFIG (a file or a directory)"),
		RunE: runE(runHost),
	}
}

func runHost(cmd *cobra.Command, paths []string) error {
	stderr := cmd.ErrOrStderr()
	cfg, _, err := loadChecked(paths, stderr, true)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if path := os.Getenv("OSLOHOST_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
		log.Info("writing a CPU profile until exit", "path", path)
	}
	procs := currentProcs(cfg.Host.GOMAXPROCS)
	procs.apply(cfg)
	log.Info("Go processors", "host", runtime.GOMAXPROCS(0), "plugins", orDefault(procs.plugin), "from", procs.why)
	h, err := host.New(cfg, log, host.WithLoader(func() (*config.Config, error) {
		cfg, err := reloadConfig(paths)
		if err == nil {
			procs.apply(cfg) // decided once, at start: a reload does not change it
		}
		return cfg, err
	}))
	if err != nil {
		return err
	}

	// Registered before the host starts, so that no signal can kill the
	// process with its default action once plugins run.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, append(shutdownSignals, syscall.SIGHUP)...)
	defer signal.Stop(sigs)

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()

	stopping := false
	for {
		select {
		case err := <-done:
			switch {
			case err == nil:
				return nil
			case stopping && errors.Is(err, context.Canceled):
				return nil // interrupted while starting; what had started was stopped
			case stopping:
				return fmt.Errorf("shutdown: %w", err)
			}
			return err
		case s := <-sigs:
			switch {
			case s == syscall.SIGHUP:
				log.Info("SIGHUP received: reloading the configuration")
				go func() { _, _ = h.Reload(ctx) }() // the host logs the outcome
			case !stopping:
				stopping = true
				log.Info("signal received, shutting down; send it again to exit at once", "signal", s.String())
				cancel()
			default:
				// The host goroutine is abandoned: the process is about to
				// exit, and plugins die with it.
				log.Error("second signal received, exiting without finishing the shutdown", "signal", s.String())
				return silentExit(ExitFailure)
			}
		}
	}
}

func orDefault(s string) string {
	if s == "" {
		return "their own choice"
	}
	return s
}

// interruptContext is ctx cancelled on the first SIGINT or SIGTERM, for the
// commands that end on one (validate, call, cast, ping).
func interruptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, shutdownSignals...)
}
