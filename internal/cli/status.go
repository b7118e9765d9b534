package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/host"
)

func newStatusCommand() *cobra.Command {
	var f adminFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running host's servers and plugins",
		Long: `Status asks a running host's admin API (GET /v1/status) for its broker
connection, servers and plugins (state, generation, pid, version, in-flight
calls, restarts, last error) and prints them for a person, or as JSON.`,
		Example: `  oslohost status
  oslohost status --address 10.0.0.5:9464 --token "$TOKEN" --json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				var raw json.RawMessage
				if err := f.do(cmd.Context(), "GET", "/v1/status", &raw); err != nil {
					return err
				}
				_, err := cmd.OutOrStdout().Write(raw)
				return err
			}
			var st host.Status
			if err := f.do(cmd.Context(), "GET", "/v1/status", &st); err != nil {
				return err
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		}),
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw JSON")
	return cmd
}

func printStatus(w io.Writer, st host.Status) {
	conn := "connected"
	if !st.Broker.Connected {
		conn = "NOT CONNECTED"
		if st.Broker.Error != "" {
			conn += ": " + st.Broker.Error
		}
	}
	fmt.Fprintf(w, "Broker   %s (%s)\n\n", st.Broker.URL, conn)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSTATE\tTOPIC\tSERVER NAME\tEXCHANGE\tEXECUTOR\tPLUGINS")
	for _, s := range st.Servers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, dash(s.State), s.Topic, dash(s.Server), dash(s.Exchange), s.Executor, strings.Join(s.Plugins, ","))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tSTATE\tGEN\tPID\tVERSION\tIN FLIGHT\tRESTARTS\tSWAPS\tUP SINCE")
	for _, p := range st.Plugins {
		since := "-"
		if p.Since != nil {
			since = time.Since(*p.Since).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\n", p.Name, p.State, p.Generation, p.PID, dash(p.Version), p.InFlight, p.Restarts, p.Swaps, since)
	}
	tw.Flush()
	for _, p := range st.Plugins {
		if p.LastError != "" {
			fmt.Fprintf(w, "\n%s: last error: %s", p.Name, p.LastError)
			if p.NextRestart != nil {
				fmt.Fprintf(w, " (next restart in %s)", time.Until(*p.NextRestart).Round(100*time.Millisecond))
			}
		}
		for _, g := range p.Draining {
			fmt.Fprintf(w, "\n%s: generation %d (pid %d) draining, %d calls in flight", p.Name, g.Generation, g.PID, g.InFlight)
			if g.Since != nil {
				fmt.Fprintf(w, ", replaced %s ago", time.Since(*g.Since).Round(time.Second))
			}
			if g.Cut > 0 {
				fmt.Fprintf(w, ", %d cut", g.Cut)
			}
		}
		if pr := p.Probation; pr != nil {
			fmt.Fprintf(w, "\n%s: generation %d on probation for %s more; generation %d (pid %d) kept to roll back to",
				p.Name, p.Generation, time.Until(pr.Until).Round(time.Second), pr.Fallback, pr.FallbackPID)
		}
		if q := p.SwapQueued; q != nil {
			fmt.Fprintf(w, "\n%s: swap queued %s ago: %s", p.Name, time.Since(q.Since).Round(time.Second), q.Reason)
		}
		if p.Rollbacks > 0 {
			fmt.Fprintf(w, "\n%s: swaps rolled back: %d", p.Name, p.Rollbacks)
		}
		if p.PinnedBinary {
			fmt.Fprintf(w, "\n%s: restarts run the serving binary (sha256 %.12s), not the build rolled back from now at %s, until the next swap",
				p.Name, p.SHA256, p.Path)
		}
	}
	fmt.Fprintln(w)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
