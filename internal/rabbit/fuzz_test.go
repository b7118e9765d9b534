package rabbit

import (
	"strings"
	"testing"
)

// FuzzParseURL checks that ParseURL never panics and that Redacted never
// shows a password: with every password replaced by a marker, the marker
// appears in Redacted only if it already does with empty passwords.
func FuzzParseURL(f *testing.F) {
	for _, seed := range []string{
		"rabbit://",
		"rabbit://guest:guest@127.0.0.1:5672//",
		"rabbit://guest:guest@127.0.0.1:5672/%2Fnova",
		"rabbit://us%40er:p%40ss%3Aw@h1:5672,us%40er:p%40ss%3Aw@h2/vh",
		"rabbit://u:p@[::1]:5673/vh?heartbeat_timeout_threshold=10&amqp_durable_queues=true",
		"rabbit://u:p@h1,h2:5673/",
		"kombu://u:p@h/?no_such_option=1",
		"rabbit://u:p@[fe80::1%25eth0]:x/",
	} {
		f.Add(seed)
	}
	const marker = "MARKERzq9"
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseURL(raw)
		if err != nil {
			return
		}
		if len(u.Hosts) == 0 {
			t.Fatalf("ParseURL(%q) returned no hosts", raw)
		}
		for i := range u.Hosts {
			_ = u.AMQPURI(i)
		}
		if u.String() != u.Redacted() {
			t.Fatalf("String() != Redacted()")
		}
		withPassword := func(pw string) string {
			c := *u
			c.Hosts = append([]Host(nil), u.Hosts...)
			for i := range c.Hosts {
				c.Hosts[i].Password = pw
			}
			return c.Redacted()
		}
		if strings.Contains(withPassword(marker), marker) && !strings.Contains(withPassword(""), marker) {
			t.Fatalf("Redacted() of %q shows the password: %s", raw, withPassword(marker))
		}
	})
}
