package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host"
	"github.com/oslohost/oslohost/host/config"
)

// loadConfig loads the configuration at paths and prints its diagnostics,
// warnings included, on stderr (in color on a terminal). It returns nil and
// an exitError when any diagnostic is an error.
func loadConfig(paths []string, stderr io.Writer) (*config.Config, map[string]*hcl.File, error) {
	return loadChecked(paths, stderr, false)
}

// loadChecked is loadConfig that, with topology set, also warns of clashes
// inside the configuration (host.PlanTopology: two blocks consuming one
// queue, one queue or exchange declared two ways), which plan and validate
// refuse. run serves such a configuration, as it always has (two servers
// of one topic in one host share its queue as two processes would), but
// says so at start.
func loadChecked(paths []string, stderr io.Writer, topology bool) (*config.Config, map[string]*hcl.File, error) {
	var l config.Loader
	cfg, diags := l.Load(paths...)
	if topology && !diags.HasErrors() {
		for _, d := range topologyClashes(cfg) {
			w := *d
			w.Severity = hcl.DiagWarning
			w.Detail += " ('oslohost plan' and 'validate' refuse this configuration; run serves it.)"
			diags = append(diags, &w)
		}
	}
	files := l.Files()
	if len(diags) > 0 {
		writeDiagnostics(stderr, files, diags)
	}
	if diags.HasErrors() {
		return nil, files, silentExit(ExitFailure)
	}
	return cfg, files, nil
}

func writeDiagnostics(w io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics) {
	_ = config.WriteDiagnostics(w, files, diags, isTerminal(w))
}

// newLogger is the root logger configured by the log block.
func newLogger(c config.Log, w io.Writer) hclog.Logger {
	level := hclog.LevelFromString(c.Level)
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "oslohost",
		Level:      level,
		JSONFormat: c.Format == "json",
		Output:     w,
		Color:      logColor(w),
	})
}

// logColor colors text logs on a terminal only (hclog's AutoColor colors
// any writer that is not a file).
func logColor(w io.Writer) hclog.ColorOption {
	if isTerminal(w) {
		return hclog.AutoColor
	}
	return hclog.ColorOff
}

// reloadConfig loads the configuration again for a reload; its error holds
// the diagnostics as text.
func reloadConfig(paths []string) (*config.Config, error) {
	var l config.Loader
	cfg, diags := l.Load(paths...)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = config.WriteDiagnostics(&b, l.Files(), diags, false)
		return nil, errors.New(strings.TrimSpace(b.String()))
	}
	return cfg, nil
}

// topologyClashes are the clashes inside cfg's topology. An invalid
// transport is left to the host, which reports it when it starts.
func topologyClashes(cfg *config.Config) hcl.Diagnostics {
	top, diags := host.PlanTopology(cfg)
	if top == nil {
		return nil
	}
	return diags
}
