package cli

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
)

func newReloadCommand() *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "reload [PLUGIN]",
		Short: "Reload a running host's configuration, or hot-swap one plugin",
		Long: `Without an argument, reload makes a running host re-read its configuration
and apply the difference (POST /v1/reload), as SIGHUP does: plugins,
servers and listeners added, removed or changed; unchanged ones are
untouched. It is all or nothing: everything new is started first, beside
what runs, and the host switches only once all of it has started. A
configuration that does not load, or anything in it that does not start, is
refused with the diagnostics (exit status 1) and the running one stays
unchanged.

With a PLUGIN name it hot-swaps that plugin (POST /v1/plugins/NAME/reload):
a new process of its binary is started beside the running one, must describe
the same endpoints, and takes over; the old one finishes its calls first. If
the new one fails, the old one keeps serving.`,
		Example: `  oslohost reload
  oslohost reload calc`,
		Args: cobra.MaximumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			path := "/v1/reload"
			if len(args) == 1 {
				path = "/v1/plugins/" + url.PathEscape(args[0]) + "/reload"
			}
			var raw json.RawMessage
			if err := f.do(cmd.Context(), "POST", path, &raw); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s", raw)
			return nil
		}),
	}
	f.register(cmd.Flags())
	return cmd
}
