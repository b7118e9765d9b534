package config

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// finish applies the defaults that depend on other blocks and checks what
// spans blocks: the transport exists, references resolve, targets are unique.
// start is where file-level problems are reported.
func (d *decoder) finish(start hcl.Range, hasTransport bool, hostname func() (string, error)) {
	c := d.cfg
	if !hasTransport {
		d.errorAt(start, "Missing transport block", "A transport block with the broker's url is required.")
	}
	if c.Executor(DefaultExecutor) == nil {
		c.Executors = slices.Insert(c.Executors, 0, &Executor{Name: DefaultExecutor, Kind: ExecutorPool,
			Workers: defaultWorkers, Implicit: true})
	}
	for _, p := range c.Plugins {
		if p.MaxMessageSize == 0 {
			p.MaxMessageSize = c.Host.MaxMessageSize
		}
	}
	d.checkRefs()
	d.serverDefaults(hostname)
	for _, l := range c.Listeners {
		if l.Exchange == "" {
			l.Exchange = c.Transport.ControlExchange
		}
	}
	if len(c.Servers)+len(c.Listeners) == 0 {
		d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Nothing to serve",
			Detail: "No server or listener block is declared.", Subject: start.Ptr()})
	}
}

// checkRefs reports unknown executors and plugins, and plugins nothing uses.
func (d *decoder) checkRefs() {
	declared := map[string][]string{}
	for _, e := range d.cfg.Executors {
		declared["executor"] = append(declared["executor"], e.Name)
	}
	used := map[string]bool{}
	for _, p := range d.cfg.Plugins {
		declared["plugin"] = append(declared["plugin"], p.Name)
	}
	for _, r := range d.refs {
		used[r.kind+" "+r.name] = true
		if slices.Contains(declared[r.kind], r.name) {
			continue
		}
		detail := fmt.Sprintf("No %s named %q is declared", r.kind, r.name)
		if names := declared[r.kind]; len(names) > 0 {
			detail += "; declared: " + quoteList(names)
		}
		d.errorAt(r.rng, "Reference to undeclared "+r.kind, detail+".")
	}
	for _, p := range d.cfg.Plugins {
		if !used["plugin "+p.Name] {
			d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Unused plugin",
				Detail:  fmt.Sprintf("Plugin %q is not used by any server or listener; it will not be started.", p.Name),
				Subject: p.Range.Ptr()})
		}
	}
}

// serverDefaults fills server and exchange, then reports servers that would
// consume from the same queues.
func (d *decoder) serverDefaults(hostname func() (string, error)) {
	targets := map[string]*Server{}
	for _, s := range d.cfg.Servers {
		if s.Exchange == "" {
			s.Exchange = d.cfg.Transport.ControlExchange
		}
		if s.Server == "" {
			name, err := hostname()
			if err != nil || name == "" {
				d.errorAt(s.Range, "Cannot determine the server name",
					fmt.Sprintf("Set \"server\" explicitly; the hostname is unavailable (%v).", err))
			}
			s.Server = name
		}
		if s.Topic == "" {
			continue
		}
		key := s.Exchange + "\x00" + s.Topic + "\x00" + s.Server
		if first, ok := targets[key]; ok {
			d.errorAt(s.AttrRange("topic"), "Duplicate server target", fmt.Sprintf(
				"Server %q (declared at %s) already consumes topic %q as server %q on exchange %q.",
				first.Name, first.Range, s.Topic, s.Server, s.Exchange))
			continue
		}
		targets[key] = s
	}
}

func (d *decoder) errorAt(rng hcl.Range, summary, detail string) {
	d.diags = append(d.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()})
}
