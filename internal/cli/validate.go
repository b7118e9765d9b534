package cli

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/host"
)

func newValidateCommand() *cobra.Command {
	var logLevel string
	var broker, asJSON bool
	cmd := &cobra.Command{
		Use:   "validate CONFIG...",
		Short: "Check a configuration, starting each plugin once",
		Long: `Validate loads the configuration as run does (files, or directories of *.hcl
files, merged), then starts each plugin a server or listener uses, asks it to
describe its endpoints and stops it. It also computes the topology the
configuration declares and refuses clashes inside it (two blocks consuming one
queue). Nothing is served and the broker is not contacted, unless --broker:
then every exchange and queue is compared with the broker's, passively (see
oslohost plan).

Problems are printed with their file and line; the exit status is 1 when there
is any error, 0 otherwise (warnings are printed too).`,
		Example: `  oslohost validate config.hcl
  oslohost validate --broker --json config.hcl
  oslohost validate /etc/oslohost/`,
		Args: requireArgs(1, "CONFIG (a file or a directory)"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			level := hclog.LevelFromString(logLevel)
			if level == hclog.NoLevel {
				return usageErrorf("invalid --log-level %q: want trace, debug, info, warn, error or off", logLevel)
			}
			stderr := cmd.ErrOrStderr()
			cfg, files, err := loadConfig(args, stderr)
			if err != nil {
				return err
			}
			log := hclog.New(&hclog.LoggerOptions{Name: "oslohost", Level: level, Output: stderr, Color: logColor(stderr)})
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			diags := host.Validate(ctx, cfg, log)
			if broker || asJSON {
				top, tdiags := checkTopology(ctx, cfg, broker)
				for _, d := range tdiags { // the clashes are in diags already
					if !containsDiag(diags, d) {
						diags = append(diags, d)
					}
				}
				if asJSON {
					if err := writeTopologyJSON(cmd.OutOrStdout(), top, files, diags); err != nil {
						return err
					}
					if diags.HasErrors() {
						return silentExit(ExitFailure)
					}
					return nil
				}
			}
			if len(diags) > 0 {
				writeDiagnostics(stderr, files, diags)
			}
			if diags.HasErrors() {
				return silentExit(ExitFailure)
			}
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted")
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "Configuration is valid.")
			return err
		}),
	}
	cmd.Flags().BoolVar(&broker, "broker", false, "also compare the topology with the broker's, passively (declaring nothing)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the topology and the diagnostics as JSON on stdout")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "log level of plugin output on stderr: trace, debug, info, warn, error, off")
	return cmd
}

func containsDiag(diags hcl.Diagnostics, d *hcl.Diagnostic) bool {
	for _, e := range diags {
		if e.Summary == d.Summary && e.Detail == d.Detail {
			return true
		}
	}
	return false
}
