package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/oslohost/oslohost/host"
	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/rabbit"
)

func newPlanCommand() *cobra.Command {
	var asJSON, offline bool
	cmd := &cobra.Command{
		Use:   "plan CONFIG...",
		Short: "Show every exchange, queue, binding and consumer a configuration declares, checked against the broker",
		Long: `Plan computes the topology the configuration will declare (exchanges,
queues, bindings and consumers, with durability, auto-delete and arguments),
by the same code that declares them, and refuses clashes inside it (two blocks
consuming one queue). Unless --offline, it then compares each exchange and
queue with what exists on the broker of the transport block, passively: it
declares nothing (see README, "Topology check"). It names each declaration the
broker would refuse with 406 PRECONDITION_FAILED and each queue that other
processes consume already. Plugins are not started (validate does that).

The exit status is 1 when there is any error (a clash, a conflict with the
broker, an unreachable broker), 0 otherwise.`,
		Example: `  oslohost plan config.hcl
  oslohost plan --json config.hcl | jq '.queues[] | select(.broker.state == "conflict")'`,
		Args: requireArgs(1, "CONFIG (a file or a directory)"),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			cfg, files, err := loadConfig(args, stderr)
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			top, diags := checkTopology(ctx, cfg, !offline)
			if asJSON {
				if err := writeTopologyJSON(cmd.OutOrStdout(), top, files, diags); err != nil {
					return err
				}
			} else {
				if top != nil {
					writeTopology(cmd.OutOrStdout(), top, !offline)
				}
				if len(diags) > 0 {
					writeDiagnostics(stderr, files, diags)
				}
			}
			if diags.HasErrors() {
				return silentExit(ExitFailure)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the topology, the broker's findings and the diagnostics as JSON on stdout")
	cmd.Flags().BoolVar(&offline, "offline", false, "do not contact the broker: only compute the topology and check the configuration")
	return cmd
}

// checkTopology plans cfg's topology and, with broker, compares it with
// the broker.
func checkTopology(ctx context.Context, cfg *config.Config, broker bool) (*host.Topology, hcl.Diagnostics) {
	top, diags := host.PlanTopology(cfg)
	if top != nil && broker {
		diags = append(diags, host.CompareTopology(ctx, cfg, top, hclog.NewNullLogger())...)
	}
	return top, diags
}

// writeTopology prints the topology as three tables.
func writeTopology(w io.Writer, top *host.Topology, broker bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	state := func(f *rabbit.Finding) string {
		switch {
		case !broker:
			return ""
		case f == nil:
			return "(per process)"
		case f.State == rabbit.StateAbsent:
			return "absent, will be created"
		case f.State == rabbit.StateConflict:
			return "CONFLICT (406)"
		case f.DurableFallback:
			return "exists with the other durable flag (used)"
		case f.Consumers > 0:
			return fmt.Sprintf("exists, %d consumer(s), %d message(s)", f.Consumers, f.Messages)
		default:
			return "exists, equivalent"
		}
	}
	fmt.Fprintln(tw, "EXCHANGE\tTYPE\tDURABLE\tAUTO-DELETE\tDECLARED BY\tBROKER")
	for _, x := range top.Exchanges {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\t%s\n", x.Name, x.Kind, x.Durable, x.AutoDelete, strings.Join(x.DeclaredBy, ", "), state(x.Broker))
	}
	fmt.Fprintln(tw, "\nQUEUE\tDURABLE\tAUTO-DELETE\tARGUMENTS\tCONSUMED BY\tBROKER")
	for _, q := range top.Queues {
		consumers := strings.Join(q.ConsumedBy, ", ")
		if len(q.ConsumerArguments) > 0 {
			consumers += " (" + formatArgs(q.ConsumerArguments) + ")"
		}
		fmt.Fprintf(tw, "%s\t%v\t%v\t%s\t%s\t%s\n", q.Name, q.Durable, q.AutoDelete, formatArgs(q.Arguments), consumers, state(q.Broker))
	}
	fmt.Fprintln(tw, "\nBINDING\tEXCHANGE\tROUTING KEY\tDECLARED BY")
	for _, b := range top.Bindings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Queue, b.Exchange, b.Key, b.DeclaredBy)
	}
	_ = tw.Flush()
}

func formatArgs(args map[string]any) string {
	if len(args) == 0 {
		return "-"
	}
	var out []string
	for k, v := range args {
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

type jsonDiagnostic struct {
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	Range    string `json:"range,omitempty"`
}

// writeTopologyJSON prints {"valid", "exchanges", "queues", "bindings",
// "diagnostics"}.
func writeTopologyJSON(w io.Writer, top *host.Topology, _ map[string]*hcl.File, diags hcl.Diagnostics) error {
	out := struct {
		Valid bool `json:"valid"`
		*host.Topology
		Diagnostics []jsonDiagnostic `json:"diagnostics"`
	}{Valid: !diags.HasErrors(), Topology: top, Diagnostics: []jsonDiagnostic{}}
	if out.Topology == nil {
		out.Topology = &host.Topology{}
	}
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: "warning", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagError {
			jd.Severity = "error"
		}
		if d.Subject != nil {
			jd.Range = d.Subject.String()
		}
		out.Diagnostics = append(out.Diagnostics, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
