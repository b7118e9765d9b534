package config

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/oslohost/oslohost/internal/rabbit"
)

func (d *decoder) transport(blk *hcl.Block) {
	b, nested := d.body(blk, transportSchema)
	t := &d.cfg.Transport
	t.Source = b.source()
	b.required("url")
	if b.str("url", &t.URL) {
		if err := checkURL(t.URL); err != nil {
			b.errorf(b.exprRange("url"), "Invalid transport URL",
				"The transport URL must look like rabbit://user:pass@host:port[,user:pass@host:port…]/vhost: %s.", err)
		}
	}
	b.text("control_exchange", &t.ControlExchange)
	b.boolean("quorum_queues", &t.QuorumQueues)
	b.duration("heartbeat", &t.Heartbeat)
	b.integer("prefetch", &t.Prefetch, 0)
	t.Rabbit = b.rabbitOptions("oslo_messaging_rabbit")
	if tb := d.singleBlock(nested); tb != nil {
		t.TLS = d.tls(tb)
	}
}

// transportSchemes are the URL schemes the RabbitMQ driver accepts.
var transportSchemes = []string{"rabbit", "amqp", "amqps"}

// checkURL checks the shape of an oslo transport URL (secrets are never
// included in the error).
func checkURL(url string) error {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return fmt.Errorf("missing scheme")
	}
	known := false
	for _, s := range transportSchemes {
		known = known || s == scheme
	}
	if !known {
		return fmt.Errorf("the scheme must be %s, got %q", quoteList(transportSchemes), scheme)
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	for i, h := range strings.Split(rest, ",") {
		host := h[strings.LastIndex(h, "@")+1:]
		if c := strings.LastIndex(host, ":"); c > strings.LastIndex(host, "]") {
			if p, err := strconv.Atoi(host[c+1:]); err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("host %d has an invalid port %q", i+1, host[c+1:])
			}
			host = host[:c]
		}
		if host == "" {
			return fmt.Errorf("host %d has no host name", i+1)
		}
	}
	return nil
}

func (d *decoder) tls(blk *hcl.Block) *TLS {
	b, _ := d.body(blk, tlsSchema)
	t := &TLS{Source: b.source()}
	b.text("ca_file", &t.CAFile)
	cert := b.text("cert_file", &t.CertFile)
	key := b.text("key_file", &t.KeyFile)
	if cert != key {
		missing := "key_file"
		if key {
			missing = "cert_file"
		}
		b.errorf(blk.DefRange, "Incomplete client certificate",
			"cert_file and key_file go together; %q is missing.", missing)
	}
	b.boolean("insecure_skip_verify", &t.InsecureSkipVerify)
	return t
}

func (d *decoder) host(blk *hcl.Block) {
	b, _ := d.body(blk, hostSchema)
	h := &d.cfg.Host
	h.Source = b.source()
	b.duration("shutdown_timeout", &h.ShutdownTimeout)
	b.duration("drain_timeout", &h.DrainTimeout)
	b.duration("drain_ceiling", &h.DrainCeiling)
	b.integer("max_draining", &h.MaxDraining, 1)
	b.duration("probation", &h.Probation)
	if b.duration("dedup_window", &h.DedupWindow) && h.DedupWindow == 0 {
		b.errorf(b.exprRange("dedup_window"), "Invalid duration", "The value of \"dedup_window\" must be positive.")
	}
	b.integer("dedup_max_ids", &h.DedupMaxIDs, 1)
	b.integer("max_message_size", &h.MaxMessageSize, 1)
	b.integer("gomaxprocs", &h.GOMAXPROCS, 1)
}

func (d *decoder) admin(blk *hcl.Block) {
	b, _ := d.body(blk, adminSchema)
	a := &d.cfg.Admin
	a.Source = b.source()
	a.Listen = defaultAdminListen
	if b.str("listen", &a.Listen) && a.Listen != "" {
		if _, _, err := net.SplitHostPort(a.Listen); err != nil {
			b.errorf(b.exprRange("listen"), "Invalid listen address",
				"The value of \"listen\" must be host:port (or empty to disable the admin API): %s.", err)
		}
	}
	b.str("token", &a.Token)
}

func (d *decoder) log(blk *hcl.Block) {
	b, _ := d.body(blk, logSchema)
	l := &d.cfg.Log
	l.Source = b.source()
	b.oneOf("level", &l.Level, "trace", "debug", "info", "warn", "error")
	b.oneOf("format", &l.Format, "text", "json")
}

// rabbitOptions reads an object of [oslo_messaging_rabbit] options: each
// value a string, number or bool, converted to the text oslo.config would
// read and checked by the same code the transport URL's query goes through
// (unknown names and bad values are reported at the option).
func (b *body) rabbitOptions(name string) []RabbitOption {
	a, ok := b.attrs[name]
	if !ok {
		return nil
	}
	v, ok := b.value(name, cty.DynamicPseudoType)
	if !ok {
		return nil
	}
	if t := v.Type(); !t.IsObjectType() && !t.IsMapType() {
		b.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"Inappropriate value for attribute %q: an object of [oslo_messaging_rabbit] options required, got %s.", name, t.FriendlyName())
		return nil
	}
	ranges := map[string]hcl.Range{}
	if pairs, diags := hcl.ExprMap(a.Expr); !diags.HasErrors() {
		for _, p := range pairs {
			if k, diags := p.Key.Value(nil); !diags.HasErrors() && k.Type() == cty.String {
				ranges[k.AsString()] = hcl.RangeBetween(p.Key.Range(), p.Value.Range())
			}
		}
	}
	m := v.AsValueMap()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []RabbitOption
	check := rabbit.DefaultOptions()
	for _, k := range keys {
		rng, ok := ranges[k]
		if !ok {
			rng = a.Expr.Range()
		}
		e := m[k]
		var text string
		switch {
		case e.IsNull():
			b.errorf(rng, "Invalid option value", "The value of %s must not be null.", k)
			continue
		case e.Type() == cty.String:
			text = e.AsString()
		case e.Type() == cty.Bool:
			text = strconv.FormatBool(e.True())
		case e.Type() == cty.Number:
			text = e.AsBigFloat().Text('f', -1)
		default:
			b.errorf(rng, "Invalid option value", "The value of %s must be a string, number or bool, got %s.", k, e.Type().FriendlyName())
			continue
		}
		if err := check.Set(k, text); err != nil {
			b.errorf(rng, "Invalid [oslo_messaging_rabbit] option", "%s.", err)
			continue
		}
		out = append(out, RabbitOption{Name: k, Value: text, Range: rng})
	}
	return out
}
