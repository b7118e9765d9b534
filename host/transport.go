package host

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/oslohost/oslohost/host/config"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/internal/transportx/wrap"
	"github.com/oslohost/oslohost/transport"
)

// transportURL turns the transport block into a parsed transport URL: the
// block's settings (quorum queues, heartbeat, TLS files, then the
// oslo_messaging_rabbit options) are the base, and options in the URL's
// query override them, as oslo's config file and URL do.
func transportURL(t config.Transport) (*rabbit.URL, error) {
	base := rabbit.DefaultOptions()
	base.QuorumQueue = t.QuorumQueues
	if t.Heartbeat > 0 {
		base.HeartbeatTimeout = t.Heartbeat.Duration()
	}
	if t.Prefetch > 0 {
		base.PrefetchCount, base.PrefetchSet = t.Prefetch, true
	}
	if t.TLS != nil {
		dir := filepath.Dir(t.TLS.Range.Filename)
		base.SSL = true
		base.SSLCAFile = resolve(dir, t.TLS.CAFile)
		base.SSLCertFile = resolve(dir, t.TLS.CertFile)
		base.SSLKeyFile = resolve(dir, t.TLS.KeyFile)
		base.SSLVerifyHostname = !t.TLS.InsecureSkipVerify
	}
	for _, o := range t.Rabbit {
		if err := base.Set(o.Name, o.Value); err != nil {
			return nil, err
		}
	}
	u, err := rabbit.ParseURLWithOptions(t.URL, base)
	if err != nil {
		return nil, err
	}
	if err := u.Options.Validate(); err != nil {
		return nil, fmt.Errorf("transport options: %w", err)
	}
	return u, nil
}

// resolve makes a path from the config relative to the config file's
// directory.
func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// transportRange is where a transport error belongs: the
// oslo_messaging_rabbit option it names, else the url.
func transportRange(t config.Transport, err error) hcl.Range {
	msg := err.Error()
	for _, o := range t.Rabbit {
		if strings.Contains(msg, o.Name) {
			return o.Range
		}
	}
	return t.AttrRange("url")
}

// transport is the host's connection as a transport, for cfg.
func (h *Host) transport(cfg *config.Config) *transport.Transport {
	return wrap.Conn(h.connection(), h.url.Options, cfg.Transport.ControlExchange, h.log)
}
