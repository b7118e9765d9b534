package config

import (
	"encoding/json"
	"maps"
	"strings"
)

// redacted replaces secrets in JSON output and in Redacted copies.
const redacted = "***"

// RedactURL returns an oslo transport URL with the password of every host
// replaced by "***": rabbit://u:p@h1,u:q@h2/vh becomes rabbit://u:***@h1,u:***@h2/vh.
func RedactURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	hosts := strings.Split(rest[:end], ",")
	for i, h := range hosts {
		at := strings.LastIndex(h, "@")
		if at < 0 {
			continue
		}
		if user, _, ok := strings.Cut(h[:at], ":"); ok {
			hosts[i] = user + ":" + redacted + h[at:]
		}
	}
	return scheme + "://" + strings.Join(hosts, ",") + rest[end:]
}

// Redacted returns a copy of c with the transport password, the admin token
// osprofiler hmac keys and plugin environment values replaced by "***", for display.
func (c *Config) Redacted() *Config {
	r := *c
	r.Transport.URL = RedactURL(c.Transport.URL)
	if r.Admin.Token != "" {
		r.Admin.Token = redacted
	}
	if c.Telemetry != nil {
		t := *c.Telemetry
		t.OsprofilerHMACKeys = redactList(t.OsprofilerHMACKeys)
		r.Telemetry = &t
	}
	r.Plugins = make([]*Plugin, len(c.Plugins))
	for i, p := range c.Plugins {
		cp := *p
		cp.Env = redactEnv(p.Env)
		r.Plugins[i] = &cp
	}
	return &r
}

func redactEnv(env map[string]string) map[string]string {
	out := maps.Clone(env)
	for k := range out {
		out[k] = redacted
	}
	return out
}

// MarshalJSON writes t with the URL's passwords redacted.
func (t Transport) MarshalJSON() ([]byte, error) {
	type plain Transport
	t.URL = RedactURL(t.URL)
	return json.Marshal(plain(t))
}

// MarshalJSON writes a with the token redacted.
func (a Admin) MarshalJSON() ([]byte, error) {
	type plain Admin
	if a.Token != "" {
		a.Token = redacted
	}
	return json.Marshal(plain(a))
}

// MarshalJSON writes p with environment values redacted.
func (p Plugin) MarshalJSON() ([]byte, error) {
	type plain Plugin
	p.Env = redactEnv(p.Env)
	return json.Marshal(plain(p))
}

// MarshalJSON writes t with the hmac keys redacted.
func (t Telemetry) MarshalJSON() ([]byte, error) {
	type plain Telemetry
	t.OsprofilerHMACKeys = redactList(t.OsprofilerHMACKeys)
	return json.Marshal(plain(t))
}

func redactList(l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i := range out {
		out[i] = redacted
	}
	return out
}
