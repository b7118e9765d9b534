package rabbit

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDialErrorSaysWhy: when Dial gives up, its error carries the last
// attempt's failure, not only the context's, and no password.
func TestDialErrorSaysWhy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	u, err := ParseURL("rabbit://u:s3cret-pw@" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, Config{URL: u})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	if !strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error %q: want the refusal, without the password", err)
	}
}

// TestServerNameAsWritten: TLS verifies the host name as written in the
// URL, although localhost is dialed as 127.0.0.1.
func TestServerNameAsWritten(t *testing.T) {
	u, err := ParseURL("rabbit://u:p@LocalHost:5671,broker.example,10.0.0.1,:5673/")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ dial, name string }{
		{"127.0.0.1", "LocalHost"}, {"broker.example", "broker.example"}, {"10.0.0.1", "10.0.0.1"}, {"127.0.0.1", "127.0.0.1"},
	}
	for i, w := range want {
		if u.Hosts[i].Host != w.dial || u.ServerName(i) != w.name {
			t.Errorf("host %d: dials %q verifies %q, want %q and %q", i, u.Hosts[i].Host, u.ServerName(i), w.dial, w.name)
		}
	}
	if d, _ := ParseURL("rabbit://"); d.ServerName(0) != "127.0.0.1" {
		t.Errorf("default host verifies %q", d.ServerName(0))
	}
}
