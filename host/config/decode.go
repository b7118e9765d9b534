package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/oslo"
)

// Defaults that do not depend on other blocks.
const (
	defaultControlExchange = oslo.DefaultControlExchange
	defaultHeartbeat       = 60 * time.Second
	defaultShutdownTimeout = 30 * time.Second
	defaultDrainTimeout    = 30 * time.Second
	defaultDrainCeiling    = 30 * time.Minute // Nova's long_rpc_timeout
	defaultMaxDraining     = 3
	defaultProbation       = 30 * time.Second
	defaultDedupWindow     = time.Minute // oslo's rpc_response_timeout
	defaultDedupMaxIDs     = 1_200_000   // 2 min at 10k messages/s, about 80 MB
	defaultMaxMessageSize  = oslo.DefaultMaxMessageSize
	defaultWorkers         = 64
	defaultStartTimeout    = 10 * time.Second
	defaultMaxRequeues     = 5
	defaultBatchSize       = 100
	defaultBatchTimeout    = time.Second
	defaultAdminListen     = "127.0.0.1:9464"
)

// decoder turns the blocks of every file into one Config.
type decoder struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	cfg   *Config
	seen  map[string]*hcl.Block // by type and label, to report duplicates
	refs  []reference           // executor and plugin names used, checked once all are declared
}

// reference is a use of an executor or plugin by name.
type reference struct {
	kind, name string
	rng        hcl.Range
}

func newDecoder(ctx *hcl.EvalContext) *decoder {
	return &decoder{
		ctx:  ctx,
		seen: map[string]*hcl.Block{},
		cfg: &Config{
			Transport: Transport{ControlExchange: defaultControlExchange, Heartbeat: Duration(defaultHeartbeat)},
			Host: Host{ShutdownTimeout: Duration(defaultShutdownTimeout), DrainTimeout: Duration(defaultDrainTimeout),
				DrainCeiling: Duration(defaultDrainCeiling), MaxDraining: defaultMaxDraining,
				Probation: Duration(defaultProbation), DedupWindow: Duration(defaultDedupWindow),
				DedupMaxIDs: defaultDedupMaxIDs, MaxMessageSize: defaultMaxMessageSize},
			Executors: []*Executor{},
			Plugins:   []*Plugin{},
			Servers:   []*Server{},
			Listeners: []*Listener{},
			Admin:     Admin{}, // no admin block: no admin API
			Log:       Log{Level: "info", Format: "text"},
		},
	}
}

// file decodes the top-level blocks of one file.
func (d *decoder) file(f *hcl.File) {
	content, diags := f.Body.Content(rootSchema)
	d.diags = append(d.diags, diags...)
	for _, blk := range content.Blocks {
		if d.duplicate(blk) || !d.validName(blk) {
			continue
		}
		switch blk.Type {
		case "transport":
			d.transport(blk)
		case "host":
			d.host(blk)
		case "executor":
			d.executor(blk)
		case "plugin":
			d.plugin(blk)
		case "server":
			d.server(blk)
		case "listener":
			d.listener(blk)
		case "admin":
			d.admin(blk)
		case "log":
			d.log(blk)
		case "telemetry":
			d.telemetry(blk)
		}
	}
}

// body reads blk's content against schema.
func (d *decoder) body(blk *hcl.Block, schema *hcl.BodySchema) (*body, []*hcl.Block) {
	content, diags := blk.Body.Content(schema)
	d.diags = append(d.diags, diags...)
	return &body{block: blk, attrs: content.Attributes, ctx: d.ctx, diags: &d.diags}, content.Blocks
}

// duplicate reports blk when a block of the same type and label came before.
func (d *decoder) duplicate(blk *hcl.Block) bool {
	key := strings.Join(append([]string{blk.Type}, blk.Labels...), "\x00")
	first, dup := d.seen[key]
	if !dup {
		d.seen[key] = blk
		return false
	}
	what := article(blk.Type) + " block"
	if len(blk.Labels) > 0 {
		what += fmt.Sprintf(" named %q", blk.Labels[0])
	}
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", blk.Type),
		Detail:   fmt.Sprintf("%s was already declared at %s; it may be declared only once across all files.", what, first.DefRange),
		Subject:  blk.DefRange.Ptr(),
		Context:  hcl.RangeBetween(blk.TypeRange, blk.DefRange).Ptr(),
	})
	return true
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

// validName reports a block label that is not a usable name.
func (d *decoder) validName(blk *hcl.Block) bool {
	if len(blk.Labels) == 0 || namePattern.MatchString(blk.Labels[0]) {
		return true
	}
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid name",
		Detail: fmt.Sprintf("A %s name must start with a letter, digit or underscore and contain only letters, digits, '_', '-' and '.'; got %q.",
			blk.Type, blk.Labels[0]),
		Subject: blk.LabelRanges[0].Ptr(),
	})
	return false
}

// singleBlock returns the only nested block of blks, reporting any extra one.
func (d *decoder) singleBlock(blks []*hcl.Block) *hcl.Block {
	for _, extra := range blks[min(1, len(blks)):] {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Duplicate %s block", extra.Type),
			Detail:   fmt.Sprintf("%s block was already declared at %s; it may be declared only once here.", article(extra.Type), blks[0].DefRange),
			Subject:  extra.DefRange.Ptr(),
		})
	}
	if len(blks) == 0 {
		return nil
	}
	return blks[0]
}

// ref records a use of the named executor or plugin.
func (d *decoder) ref(kind string, it item) {
	d.refs = append(d.refs, reference{kind: kind, name: it.Value, rng: it.Range})
}

// article prefixes a block type with "A" or "An".
func article(typ string) string {
	if strings.ContainsAny(typ[:1], "aeiou") {
		return "An " + typ
	}
	return "A " + typ
}
