package host

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host/config"
)

// Validate runs the real load path without serving: the transport settings
// and the topology are checked (PlanTopology), and each plugin a server or listener uses is started,
// configured, asked to describe itself and stopped. Problems are returned as
// diagnostics pointing at the block concerned.
func Validate(ctx context.Context, cfg *config.Config, log hclog.Logger) hcl.Diagnostics {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	var diags hcl.Diagnostics
	if _, err := transportURL(cfg.Transport); err != nil {
		r := transportRange(cfg.Transport, err)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid transport", Detail: err.Error(), Subject: &r})
	} else {
		_, clashes := PlanTopology(cfg) // two blocks on one queue (topology.go)
		diags = append(diags, clashes...)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, pc := range usedPlugins(cfg) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := startPlugin(ctx, pc, pc.MaxMessageSize, nil, log)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r := pc.AttrRange(blamedAttr(err))
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Plugin failed to start", Detail: err.Error(), Subject: &r})
				return
			}
			p.stop(ctx)
			log.Info("plugin ok", "plugin", pc.Name, "endpoints", fmt.Sprint(describeSummary(p.desc)))
		}()
	}
	wg.Wait()
	return diags
}
