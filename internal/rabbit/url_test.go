package rabbit

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const secret = "s3cr3tPW"

func TestParseURL(t *testing.T) {
	guest := func(host string, port int) Host { return Host{host, port, "guest", "guest"} }
	tests := []struct {
		name  string
		raw   string
		hosts []Host
		vhost string
	}{
		// Spec A.14 rows.
		{"bare", "rabbit://", []Host{guest("127.0.0.1", 5672)}, "/"},
		{"slash vhost", "rabbit://guest:guest@127.0.0.1:5672/", []Host{guest("127.0.0.1", 5672)}, "/"},
		{"double slash vhost", "rabbit://guest:guest@127.0.0.1:5672//", []Host{guest("127.0.0.1", 5672)}, "/"},
		{"named vhost", "rabbit://guest:guest@127.0.0.1:5672/oslowire", []Host{guest("127.0.0.1", 5672)}, "oslowire"},
		{"encoded slash vhost", "rabbit://guest:guest@127.0.0.1:5672/%2Fnova", []Host{guest("127.0.0.1", 5672)}, "/nova"},
		{"encoded credentials two hosts", "rabbit://us%40er:p%40ss%3Aw@h1:5672,us%40er:p%40ss%3Aw@h2/vh",
			[]Host{{"h1", 5672, "us@er", "p@ss:w"}, {"h2", 5672, "us@er", "p@ss:w"}}, "vh"},
		{"ipv6 with query", "rabbit://u:p@[::1]:5673/vh?heartbeat_timeout_threshold=10&amqp_durable_queues=true",
			[]Host{{"::1", 5673, "u", "p"}}, "vh"},
		{"mixed credentials", "rabbit://u:p@h1,h2:5673/", []Host{{"h1", 5672, "u", "p"}, guest("h2", 5673)}, "/"},
		// Other rules of spec 8.1.
		{"kombu scheme", "kombu://u:p@h/", []Host{{"h", 5672, "u", "p"}}, "/"},
		{"upper-case scheme", "RABBIT://u:p@h", []Host{{"h", 5672, "u", "p"}}, "/"},
		{"localhost", "rabbit://u:p@LocalHost:5673", []Host{{"127.0.0.1", 5673, "u", "p"}}, "/"},
		{"no hosts with vhost", "rabbit:///vh", []Host{guest("127.0.0.1", 5672)}, "vh"},
		{"empty host entries", "rabbit://,u:p@h,,/", []Host{{"h", 5672, "u", "p"}}, "/"},
		{"user without password", "rabbit://u@h", []Host{{"h", 5672, "u", "guest"}}, "/"},
		{"empty port", "rabbit://u:p@h:/", []Host{{"h", 5672, "u", "p"}}, "/"},
		{"password with colon and plus", "rabbit://u:a:b+c@h", []Host{{"h", 5672, "u", "a:b+c"}}, "/"},
		{"at sign in password", "rabbit://u:a@b@h", []Host{{"h", 5672, "u", "a@b"}}, "/"},
		{"invalid escape kept", "rabbit://u:%zz@h/%41%", []Host{{"h", 5672, "u", "%zz"}}, "A%"},
		{"ipv6 default port", "rabbit://[fe80::1%25eth0]", []Host{guest("fe80::1%eth0", 5672)}, "/"},
		{"tls keeps 5672", "rabbit://u:p@h/?ssl=true", []Host{{"h", 5672, "u", "p"}}, "/"},
		{"fragment dropped", "rabbit://u:p@h/vh#frag", []Host{{"h", 5672, "u", "p"}}, "vh"},
		{"surrounding space", " rabbit://u:p@h/vh\n", []Host{{"h", 5672, "u", "p"}}, "vh"},
		{"vhost with slash", "rabbit://h/a/b", []Host{guest("h", 5672)}, "a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.raw, err)
			}
			if fmt.Sprint(hostList(u.Hosts)) != fmt.Sprint(hostList(tt.hosts)) {
				t.Errorf("hosts = %v, want %v", hostList(u.Hosts), hostList(tt.hosts))
			}
			if u.VirtualHost != tt.vhost {
				t.Errorf("vhost = %q, want %q", u.VirtualHost, tt.vhost)
			}
		})
	}
}

// hostList renders hosts with their passwords, for comparisons only.
func hostList(hs []Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, fmt.Sprintf("%s|%d|%s|%s", h.Host, h.Port, h.User, h.Password))
	}
	return out
}

func TestParseURLQuery(t *testing.T) {
	u, err := ParseURL("rabbit://u:p@[::1]:5673/vh?heartbeat_timeout_threshold=10&amqp_durable_queues=true")
	if err != nil {
		t.Fatal(err)
	}
	if u.Options.HeartbeatTimeout != 10*time.Second || !u.Options.DurableQueues {
		t.Errorf("options not applied: %+v", u.Options)
	}

	tests := []struct {
		name  string
		query string
		check func(o Options) bool
	}{
		{"repeated keys joined", "kombu_compression=gzip&kombu_compression=bz2", func(o Options) bool { return o.Compression == "gzip,bz2" }},
		{"empty value dropped", "amqp_durable_queues=&no_such_option=", func(o Options) bool { return !o.DurableQueues }},
		{"pair without = dropped", "no_such_option&ssl=1", func(o Options) bool { return o.SSL }},
		{"plus is space", "ssl_ca_file=/a+b%2Bc", func(o Options) bool { return o.SSLCAFile == "/a b+c" }},
		{"quorum alias", "rabbit_quorum_max_memory_length=5&rabbit_quroum_max_memory_bytes=7", func(o Options) bool {
			return o.QuorumMaxMemoryLength == 5 && o.QuorumMaxMemoryBytes == 7
		}},
		{"ttl zero", "rabbit_transient_queues_ttl=0", func(o Options) bool { return o.TransientQueuesTTL == 0 }},
		{"hostname verification off", "ssl_enforce_hostname_verification=false", func(o Options) bool { return !o.SSLVerifyHostname }},
		{"deprecated name checked, not applied", "rabbit_use_ssl=true", func(o Options) bool { return !o.SSL }},
		{"pool options accepted", "rpc_conn_pool_size=5&conn_pool_min_size=1&conn_pool_ttl=60&heartbeat_in_pthread=true",
			func(o Options) bool { return o.ConnPoolSize == 5 && o.ConnPoolTTL == time.Minute }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL("rabbit://u:p@h/vh?" + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(u.Options) {
				t.Errorf("unexpected options %+v", u.Options)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		// Spec A.14 query rows (oslo's NoSuchOptError text).
		{"unknown option", "rabbit://g:g@127.0.0.1:5672/oslowire?no_such_option=1", "no such option no_such_option in group [oslo_messaging_rabbit]"},
		{"DEFAULT option", "rabbit://g:g@127.0.0.1:5672/oslowire?rpc_response_timeout=5", "no such option rpc_response_timeout in group [oslo_messaging_rabbit]"},
		{"control_exchange", "rabbit://g:g@127.0.0.1:5672/oslowire?control_exchange=x", "no such option control_exchange in group [oslo_messaging_rabbit]"},
		{"bad bool", "rabbit://u:" + secret + "@h/?amqp_durable_queues=maybe", `invalid value "maybe" for option amqp_durable_queues`},
		{"bad deprecated value", "rabbit://u:" + secret + "@h/?rabbit_use_ssl=maybe", `invalid value "maybe" for option ssl`},
		{"ttl below zero", "rabbit://u:" + secret + "@h/?rabbit_transient_queues_ttl=-1", "rabbit_transient_queues_ttl"},
		{"other scheme", "amqp://u:" + secret + "@h/", `unsupported transport url scheme "amqp"`},
		{"http scheme", "http://u:" + secret + "@h/", "unsupported transport url scheme"},
		{"no scheme", "://u:" + secret + "@h/", "no scheme"},
		{"scheme is user", "u:" + secret + "@h/", `unsupported transport url scheme "u"`},
		{"empty", "", "no scheme"},
		{"bad port", "rabbit://u:" + secret + "@h:56x72/", `host 1 of transport url: invalid port "56x72"`},
		{"port out of range", "rabbit://u:p@h1,u:" + secret + "@h2:65536/", "host 2 of transport url: invalid port"},
		{"unclosed bracket", "rabbit://u:" + secret + "@[::1:5672/", "missing ]"},
		{"bad ipv6", "rabbit://u:" + secret + "@[zz]:5672/", "invalid ipv6 address"},
		{"bad host name", "rabbit://u:" + secret + "@h<x>/", "invalid host name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if err == nil {
				t.Fatalf("ParseURL(%q) = %v, want error", tt.raw, u)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the password", err)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q does not start lower-case", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"rabbit://", "rabbit://guest:***@127.0.0.1:5672/"},
		{"rabbit://u:" + secret + "@h1,us%40er:" + secret + "@[::1]:5673/%2Fnova?ssl=true",
			"rabbit://u:***@h1:5672,us%40er:***@[::1]:5673/%2Fnova?ssl=true"},
		{"rabbit://u:" + secret + "@h/vh?kombu_compression=gzip&kombu_compression=bz2",
			"rabbit://u:***@h:5672/vh?kombu_compression=gzip%2Cbz2"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Redacted(); got != tt.want {
				t.Errorf("Redacted() = %q, want %q", got, tt.want)
			}
			for _, s := range []string{u.String(), fmt.Sprint(u), fmt.Sprintf("%v %+v %#v", *u, u, u), fmt.Sprint(u.Hosts), fmt.Sprintf("%#v", u.Hosts)} {
				if strings.Contains(s, secret) {
					t.Errorf("%q contains the password", s)
				}
			}
		})
	}
}

func TestAMQPURI(t *testing.T) {
	tests := []struct {
		name, raw, scheme string
	}{
		{"default", "rabbit://", "amqp"},
		{"slash vhost", "rabbit://guest:guest@127.0.0.1:5672//", "amqp"},
		{"named vhost", "rabbit://u:p@h:5673/oslowire", "amqp"},
		{"encoded slash vhost", "rabbit://u:p@h/%2Fnova", "amqp"},
		{"reserved characters", "rabbit://us%40er%3A%2F:p%40ss%3Aw%2F%3F%23%25%20@h1/a%20b%3Fc%23d%25", "amqp"},
		{"ipv6", "rabbit://u:p@[::1]:5673/vh", "amqp"},
		{"ipv6 zone", "rabbit://u:p@[fe80::1%25eth0]/vh", "amqp"},
		{"tls", "rabbit://u:p@h/vh?ssl=true", "amqps"},
		{"unicode", "rabbit://%C3%BC:%E2%82%AC@h/%C3%A9", "amqp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			for i, h := range u.Hosts {
				got, err := amqp.ParseURI(u.AMQPURI(i))
				if err != nil {
					t.Fatalf("amqp.ParseURI(%q): %v", u.AMQPURI(i), err)
				}
				if got.Scheme != tt.scheme || got.Host != h.Host || got.Port != h.Port ||
					got.Username != h.User || got.Password != h.Password || got.Vhost != u.VirtualHost {
					t.Errorf("round trip of %q = %+v, want %+v vhost %q", u.AMQPURI(i), got, hostList([]Host{h}), u.VirtualHost)
				}
			}
		})
	}
}
