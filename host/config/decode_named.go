package config

import (
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

func (d *decoder) executor(blk *hcl.Block) {
	b, _ := d.body(blk, executorSchema)
	e := &Executor{Source: b.source(), Name: blk.Labels[0], Kind: ExecutorPool}
	d.cfg.Executors = append(d.cfg.Executors, e)
	var kind string
	if b.oneOf("kind", &kind, string(ExecutorPool), string(ExecutorBlocking)) {
		e.Kind = ExecutorKind(kind)
	}
	workers := b.integer("workers", &e.Workers, 1)
	switch {
	case e.Kind == ExecutorBlocking && workers && e.Workers != 1:
		b.errorf(b.exprRange("workers"), "Invalid number",
			"A blocking executor handles one message at a time; \"workers\" must be 1 or absent, got %d.", e.Workers)
	case e.Kind == ExecutorBlocking:
		e.Workers = 1
	case !workers:
		e.Workers = defaultWorkers
	}
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (d *decoder) plugin(blk *hcl.Block) {
	b, _ := d.body(blk, pluginSchema)
	p := &Plugin{Source: b.source(), Name: blk.Labels[0], Args: []string{}, Env: map[string]string{},
		StartTimeout: Duration(defaultStartTimeout)}
	d.cfg.Plugins = append(d.cfg.Plugins, p)
	b.required("command")
	b.text("command", &p.Command)
	if args, ok := b.list("args"); ok {
		p.Args = values(args)
	}
	if env, ok := b.strMap("env"); ok {
		for k := range env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				b.errorf(b.exprRange("env"), "Invalid environment variable name",
					"%q cannot be an environment variable name.", k)
			}
		}
		p.Env = env
	}
	if b.str("sha256", &p.SHA256) {
		if !sha256Pattern.MatchString(p.SHA256) {
			b.errorf(b.exprRange("sha256"), "Invalid checksum",
				"The value of \"sha256\" must be 64 hexadecimal digits, got %q.", p.SHA256)
		}
		p.SHA256 = strings.ToLower(p.SHA256)
	}
	p.Config, _ = b.object("config")
	b.boolean("watch", &p.Watch)
	if b.duration("start_timeout", &p.StartTimeout) && p.StartTimeout == 0 {
		b.errorf(b.exprRange("start_timeout"), "Invalid duration", "The value of \"start_timeout\" must be positive.")
	}
	b.integer("max_message_size", &p.MaxMessageSize, 1)
	for _, o := range []struct {
		name string
		dst  **Duration
	}{{"drain_ceiling", &p.DrainCeiling}, {"probation", &p.Probation}} {
		var d Duration
		if b.duration(o.name, &d) {
			*o.dst = &d
		}
	}
}

func (d *decoder) server(blk *hcl.Block) {
	b, _ := d.body(blk, serverSchema)
	s := &Server{Source: b.source(), Name: blk.Labels[0], Executor: DefaultExecutor, Plugins: []string{}, Fanout: true}
	d.cfg.Servers = append(d.cfg.Servers, s)
	b.required("topic", "plugins")
	b.text("topic", &s.Topic)
	b.text("server", &s.Server)
	b.text("exchange", &s.Exchange)
	if b.text("executor", &s.Executor) {
		d.ref("executor", item{s.Executor, b.exprRange("executor")})
	}
	s.Plugins = d.plugins(b)
	b.boolean("fanout", &s.Fanout)
	b.duration("call_timeout", &s.CallTimeout)
}

// plugins decodes a block's "plugins" list and records the references.
func (d *decoder) plugins(b *body) []string {
	items, ok := b.texts("plugins")
	if ok && len(items) == 0 {
		b.errorf(b.exprRange("plugins"), "Empty list", "A %s needs at least one plugin.", b.block.Type)
	}
	for _, it := range items {
		d.ref("plugin", it)
	}
	return values(items)
}

func (d *decoder) listener(blk *hcl.Block) {
	b, nested := d.body(blk, listenerSchema)
	l := &Listener{Source: b.source(), Name: blk.Labels[0], Topics: []string{}, Priorities: slices.Clone(Priorities),
		Executor: DefaultExecutor, Plugins: []string{}, MaxRequeues: defaultMaxRequeues, AllowRequeue: true}
	d.cfg.Listeners = append(d.cfg.Listeners, l)
	b.required("topics", "plugins")
	topics, ok := b.texts("topics")
	if ok && len(topics) == 0 {
		b.errorf(b.exprRange("topics"), "Empty list", "A listener needs at least one topic.")
	}
	l.Topics = values(topics)
	b.text("exchange", &l.Exchange)
	if prios, ok := b.texts("priorities"); ok {
		l.Priorities = d.priorities(b, prios)
	}
	b.text("pool", &l.Pool)
	l.EventTypes = d.patterns(b, "event_types")
	l.PublisherIDs = d.patterns(b, "publisher_ids")
	if b.text("executor", &l.Executor) {
		d.ref("executor", item{l.Executor, b.exprRange("executor")})
	}
	l.Plugins = d.plugins(b)
	b.boolean("allow_requeue", &l.AllowRequeue)
	b.integer("max_requeues", &l.MaxRequeues, 0)
	if bb := d.singleBlock(nested); bb != nil {
		l.Batch = d.batch(bb)
	}
}

// priorities checks each priority is one oslo.messaging knows.
func (d *decoder) priorities(b *body, items []item) []string {
	out := []string{}
	for _, it := range items {
		if !slices.Contains(Priorities, it.Value) {
			b.errorf(it.Range, "Invalid value", "%q is not a notification priority; use %s.", it.Value, quoteList(Priorities))
			continue
		}
		out = append(out, it.Value)
	}
	if len(items) == 0 {
		b.errorf(b.exprRange("priorities"), "Empty list", "Omit \"priorities\" to receive all of them.")
	}
	return out
}

// patterns decodes a list of regular expressions, checking each compiles.
func (d *decoder) patterns(b *body, name string) []string {
	items, _ := b.texts(name)
	for _, it := range items {
		if _, err := regexp.Compile(it.Value); err != nil {
			b.errorf(it.Range, "Invalid regular expression", "%s.", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
	}
	return values(items)
}

func (d *decoder) batch(blk *hcl.Block) *Batch {
	b, _ := d.body(blk, batchSchema)
	bt := &Batch{Source: b.source(), Size: defaultBatchSize, Timeout: Duration(defaultBatchTimeout)}
	b.integer("size", &bt.Size, 1)
	b.duration("timeout", &bt.Timeout)
	return bt
}
