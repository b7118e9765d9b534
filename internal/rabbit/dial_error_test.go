package rabbit

import (
	"context"
	"errors"
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

// TestDialRefusedFailsAtOnce: a login or virtual host the broker refuses
// fails Dial at the first attempt with the reason, instead of retrying until
// the context ends; with RetryRefused it keeps trying and OnDown hears why.
func TestDialRefusedFailsAtOnce(t *testing.T) {
	brokerOrSkip(t)
	tests := []struct {
		name, url, want string
	}{
		{"password", "rabbit://guest:wrong-pw@127.0.0.1:5672/", "refused the login"},
		{"vhost", "rabbit://guest:guest@127.0.0.1:5672/" + uniq("no-such-vhost"), "refused the virtual host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			start := time.Now()
			_, err = Dial(ctx, Config{URL: u})
			if err == nil || !Permanent(err) || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "wrong-pw") {
				t.Fatalf("Dial: %v; want a permanent error saying %q, without the password", err, tt.want)
			}
			if took := time.Since(start); took > 20*time.Second {
				t.Fatalf("Dial gave up after %v: it retried", took)
			}

			downs := make(chan error, 16)
			ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel2()
			_, err = Dial(ctx2, Config{URL: u, RetryRefused: true, OnDown: func(err error) {
				select {
				case downs <- err:
				default:
				}
			}})
			if err == nil || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Dial with RetryRefused: %v, want the context's end", err)
			}
			if d := <-downs; !Permanent(d) {
				t.Fatalf("OnDown got %v", d)
			}
		})
	}
}
