package rabbit

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DefaultPort is the broker port used when a host has none, also with TLS
// (oslo never switches to 5671 by itself).
const DefaultPort = 5672

// Host is one broker address of a transport URL. User and Password are
// percent-decoded; an empty user or password in the URL becomes "guest", as
// kombu does.
type Host struct {
	Host     string // host name or IP address, IPv6 without brackets
	Port     int
	User     string
	Password string
}

// URL is a parsed oslo transport_url
// ("rabbit://user:pass@h1:5672,h2:5672/vhost?opt=v"). Its methods only read
// it and are safe for concurrent use.
type URL struct {
	Hosts       []Host // at least one after ParseURL
	VirtualHost string // effective vhost, "/" when the URL has none
	Options     Options

	query []queryOption // query options as parsed, for Redacted
	names []string      // each host as written (see ServerName)
}

type queryOption struct{ key, value string }

// ParseURL parses an oslo transport URL (spec 8.1) on top of
// DefaultOptions. Query keys are validated like oslo's [oslo_messaging_rabbit]
// options; call Options.Validate before using the result. Errors never
// contain a password.
func ParseURL(raw string) (*URL, error) {
	return ParseURLWithOptions(raw, DefaultOptions())
}

// ParseURLWithOptions is ParseURL with base (for example the
// [oslo_messaging_rabbit] section of a config file) instead of the defaults;
// query options override base, as in oslo.
func ParseURLWithOptions(raw string, base Options) (*URL, error) {
	s := strings.TrimSpace(strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(raw))
	scheme, rest, ok := splitScheme(s)
	if !ok {
		return nil, errors.New("invalid transport url: no scheme specified")
	}
	if scheme != "rabbit" && scheme != "kombu" {
		return nil, fmt.Errorf("unsupported transport url scheme %q (want rabbit or kombu)", scheme)
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, rawQuery, _ := strings.Cut(rest, "?")
	var netloc, path string
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			netloc, path = rest[:i], rest[i:]
		} else {
			netloc = rest
		}
	} else {
		path = rest
	}

	u := &URL{Options: base, VirtualHost: "/"}
	if strings.HasPrefix(path, "/") && len(path) > 1 {
		u.VirtualHost = unquote(path[1:], false)
	}
	for _, part := range strings.Split(netloc, ",") {
		if part == "" {
			continue
		}
		h, written, err := parseHost(part)
		if err != nil {
			return nil, fmt.Errorf("host %d of transport url: %w", len(u.Hosts)+1, err)
		}
		u.Hosts = append(u.Hosts, h)
		u.names = append(u.names, written)
	}
	if len(u.Hosts) == 0 {
		u.Hosts = []Host{{Host: "127.0.0.1", Port: DefaultPort, User: "guest", Password: "guest"}}
	}
	if err := u.applyQuery(rawQuery); err != nil {
		return nil, err
	}
	return u, nil
}

// splitScheme splits "scheme:rest" as Python's urlsplit does; the scheme is
// lower-cased.
func splitScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 || !isAlpha(s[0]) {
		return "", "", false
	}
	for j := 1; j < i; j++ {
		c := s[j]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return "", "", false
		}
	}
	return strings.ToLower(s[:i]), s[i+1:], true
}

func isAlpha(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

// parseHost parses "[user[:pass]@]host[:port]" like TransportURL.parse;
// written is the host name as written, before "localhost" becomes
// 127.0.0.1.
func parseHost(part string) (h Host, written string, err error) {
	h, err = parseHostPort(part)
	written = h.Host
	if h.Host == "" || strings.EqualFold(h.Host, "localhost") {
		h.Host = "127.0.0.1"
	}
	return h, written, err
}

func parseHostPort(part string) (Host, error) {
	var h Host
	hostport := part
	if i := strings.LastIndexByte(part, '@'); i >= 0 {
		userinfo := part[:i]
		hostport = part[i+1:]
		user, pass, _ := strings.Cut(userinfo, ":")
		h.User, h.Password = unquote(user, false), unquote(pass, false)
	}
	var port string
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return h, errors.New("invalid ipv6 address: missing ]")
		}
		h.Host = unquote(hostport[1:end], false) // RFC 6874 zone "%25"
		if a, err := netip.ParseAddr(h.Host); err != nil || !a.Is6() || !validHostName(a.Zone()) {
			return h, fmt.Errorf("invalid ipv6 address %q", h.Host)
		}
		if _, p, found := strings.Cut(hostport[end:], ":"); found {
			port = p
		}
	} else {
		h.Host, port, _ = strings.Cut(hostport, ":")
		if !validHostName(h.Host) {
			return h, fmt.Errorf("invalid host name %q", h.Host)
		}
	}
	h.Port = DefaultPort
	if port != "" {
		n, err := strconv.Atoi(strings.TrimSpace(port))
		if err != nil || n < 1 || n > 65535 {
			return h, fmt.Errorf("invalid port %q", port)
		}
		h.Port = n
	}
	if h.User == "" {
		h.User = "guest"
	}
	if h.Password == "" {
		h.Password = "guest"
	}
	return h, nil
}

// validHostName reports whether s has only the characters of DNS names and
// IPv4 addresses, so that AMQPURI always parses (a URI parse error would
// quote the URI, password included).
func validHostName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// applyQuery sets the options of the query like parse_qs + ConfigOptsProxy:
// pairs without "=" or with an empty value are dropped, repeated keys are
// joined with ",". A deprecated option name is checked but, as in oslo
// 14.0.3, its value from the URL is not applied.
func (u *URL) applyQuery(rawQuery string) error {
	index := map[string]int{}
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" {
			continue
		}
		k, v = unquote(k, true), unquote(v, true)
		if i, seen := index[k]; seen {
			u.query[i].value += "," + v
			continue
		}
		index[k] = len(u.query)
		u.query = append(u.query, queryOption{k, v})
	}
	for _, q := range u.query {
		target := &u.Options
		if _, deprecated := deprecatedOptions[q.key]; deprecated {
			scratch := u.Options
			target = &scratch
		}
		if err := target.Set(q.key, q.value); err != nil {
			return err
		}
	}
	return nil
}

// unquote percent-decodes s like Python's urllib.parse.unquote (invalid
// escapes stay as they are, invalid UTF-8 becomes U+FFFD); plus also
// decodes "+" as a space (unquote_plus).
func unquote(s string, plus bool) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
		case s[i] == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, s[i])
		}
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		out = append(out, r) // RuneError for an invalid byte, as Python's "replace"
		b = b[size:]
	}
	return string(out)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

// ServerName is the name TLS verifies host i against: the host as written
// in the URL, so "localhost" is checked as localhost although it is
// dialed as 127.0.0.1 (oslo.messaging hands the written host name to ssl
// as server_hostname). It panics if i is out of range.
func (u *URL) ServerName(i int) string {
	if i < len(u.names) && u.names[i] != "" {
		return u.names[i]
	}
	return u.Hosts[i].Host
}

// Redacted returns the URL with every password replaced by "***", safe to
// log. The query is shown as parsed.
func (u *URL) Redacted() string {
	var b strings.Builder
	b.WriteString("rabbit://")
	for i, h := range u.Hosts {
		if i > 0 {
			b.WriteByte(',')
		}
		if h.User != "" || h.Password != "" {
			b.WriteString(url.User(h.User).String())
			b.WriteString(":***@")
		}
		b.WriteString(hostPort(h))
	}
	b.WriteByte('/')
	if u.VirtualHost != "/" { // the default vhost is written as an empty path
		b.WriteString(url.PathEscape(u.VirtualHost))
	}
	for i, q := range u.query {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(q.key) + "=" + url.QueryEscape(q.value))
	}
	return b.String()
}

// String returns Redacted, so that %v never prints a password. It has a
// value receiver so that printing a URL value is safe too.
func (u URL) String() string { return u.Redacted() }

// String returns "user:***@host:port", so that %v never prints a password.
func (h Host) String() string {
	return url.User(h.User).String() + ":***@" + hostPort(h)
}

// GoString keeps %#v from printing the password.
func (h Host) GoString() string { return "rabbit.Host(" + strconv.Quote(h.String()) + ")" }

// AMQPURI returns the amqp:// (amqps:// with Options.SSL) URI of host i, with
// its credentials and the percent-encoded virtual host, for amqp091-go's
// Dial and ParseURI. It contains the password: do not log it. It panics if i
// is out of range.
func (u *URL) AMQPURI(i int) string {
	h := u.Hosts[i]
	scheme := "amqp"
	if u.Options.SSL {
		scheme = "amqps"
	}
	return scheme + "://" + url.UserPassword(h.User, h.Password).String() + "@" +
		hostPort(h) + "/" + url.PathEscape(u.VirtualHost)
}

func hostPort(h Host) string {
	return net.JoinHostPort(strings.ReplaceAll(h.Host, "%", "%25"), strconv.Itoa(h.Port))
}
