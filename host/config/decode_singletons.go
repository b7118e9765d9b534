package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
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
