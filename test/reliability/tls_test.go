package reliability

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslohost/oslohost/client"
	"github.com/oslohost/oslohost/internal/rabbit"
	"github.com/oslohost/oslohost/oslo"
	"github.com/oslohost/oslohost/test/pypeer"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a leaf certificate for the DNS names and IPs in sans (a
// client certificate when client is set) and returns its PEM cert and key.
func (ca *testCA) issue(t testing.TB, cn string, client bool, sans ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsProxy terminates TLS (requiring a client certificate signed by its
// CA) and forwards plaintext to the broker.
type tlsProxy struct {
	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	hsErrs []string
}

func startTLSProxy(t testing.TB, ca *testCA, certPEM, keyPEM []byte) *tlsProxy {
	t.Helper()
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		MinVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsProxy{ln: ln}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *tlsProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *tlsProxy) handshakeErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hsErrs...)
}

func (p *tlsProxy) accept() {
	defer p.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			tc := c.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tc.Handshake(); err != nil {
				p.mu.Lock()
				p.hsErrs = append(p.hsErrs, err.Error())
				p.mu.Unlock()
				return
			}
			_ = tc.SetDeadline(time.Time{})
			up, err := net.Dial("tcp", "127.0.0.1:5672")
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, tc); _ = up.Close(); done <- struct{}{} }()
			go func() { _, _ = io.Copy(tc, up); _ = tc.Close(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// TestTLS: the Go client and server reach the broker through a TLS
// endpoint the test sets up (its own CA, a server certificate, client
// certificates required): the right files connect and serve a call; a
// wrong CA, a certificate for another name (with hostname verification
// on, the default) and a missing client certificate are refused with a
// clear error; ssl_enforce_hostname_verification=false accepts the
// other name but still checks the chain.
func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, otherCA := newCA(t, "oslohost test CA"), newCA(t, "some other CA")
	caFile, otherCAFile := writeFile(t, dir, "ca.pem", ca.pem), writeFile(t, dir, "other-ca.pem", otherCA.pem)
	cc, ck := ca.issue(t, "oslohost client", true)
	certFile, keyFile := writeFile(t, dir, "client.pem", cc), writeFile(t, dir, "client.key", ck)

	proxy := func(sans ...string) *tlsProxy {
		cert, key := ca.issue(t, "broker", false, sans...)
		return startTLSProxy(t, ca, cert, key)
	}
	good := proxy("127.0.0.1", "localhost")
	otherName := proxy("broker.other.example")
	dnsOnly := proxy("localhost")
	ipOnly := proxy("127.0.0.1")

	url := func(host string, port int, ca string, clientCert bool, extra string) string {
		u := fmt.Sprintf("rabbit://guest:guest@%s:%d/?ssl=true&ssl_ca_file=%s", host, port, ca)
		if clientCert {
			u += "&ssl_cert_file=" + certFile + "&ssl_key_file=" + keyFile
		}
		return u + extra
	}
	tests := []struct {
		name    string
		url     string
		proxy   *tlsProxy
		wantErr string // "" to connect and serve
	}{
		{"CA, client certificate, name verified", url("localhost", good.port(), caFile, true, ""), good, ""},
		{"IP address as written", url("127.0.0.1", good.port(), caFile, true, ""), good, ""},
		{"localhost verified as written (DNS SAN only)", url("localhost", dnsOnly.port(), caFile, true, ""), dnsOnly, ""},
		{"localhost is not its IP (IP SAN only)", url("localhost", ipOnly.port(), caFile, true, ""), ipOnly, "certificate is not valid for any names"},
		{"wrong CA", url("localhost", good.port(), otherCAFile, true, ""), good, "certificate signed by unknown authority"},
		{"certificate for another name", url("localhost", otherName.port(), caFile, true, ""), otherName, "certificate is valid for broker.other.example, not localhost"},
		{"another name, hostname verification off", url("localhost", otherName.port(), caFile, true, "&ssl_enforce_hostname_verification=false"), otherName, ""},
		{"hostname verification off still checks the CA", url("localhost", otherName.port(), otherCAFile, true, "&ssl_enforce_hostname_verification=false"), otherName, "certificate signed by unknown authority"},
		{"no client certificate", url("localhost", good.port(), caFile, false, ""), good, "certificate required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr != "" {
				u, err := rabbit.ParseURL(tt.url)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "tls-test"})
				if err == nil {
					conn.Close()
					t.Fatalf("connected; want an error containing %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
				}
				t.Logf("result: TLS %s: refused: %v", tt.name, err)
				return
			}
			topic := pypeer.UniqueName(t, "rel-tls")
			startServer(t, tt.url, topic, nil)
			c := client.New(dialClient(t, tt.url, "client-"+topic), oslo.Target{Topic: topic})
			var got map[string]string
			if err := c.Call(bg(t, 20*time.Second), nil, "echo", map[string]string{"over": "tls"}, &got); err != nil || got["over"] != "tls" {
				t.Fatalf("call over TLS: %v %v", got, err)
			}
			t.Logf("result: TLS %s: connected and served a call", tt.name)
		})
	}
	if errs := good.handshakeErrors(); !containsAny(errs, "client didn't provide a certificate") {
		t.Errorf("the TLS endpoint did not see a handshake without client certificate: %q", errs)
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestTLSHostnameVerificationParity: ssl_enforce_hostname_verification
// means the same to oslohost and to both Python peers: with a CA file and
// a broker certificate for another name, true refuses the broker and
// false accepts it (the chain still checked).
func TestTLSHostnameVerificationParity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := newCA(t, "oslohost test CA")
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	cc, ck := ca.issue(t, "oslohost client", true)
	certFile, keyFile := writeFile(t, dir, "client.pem", cc), writeFile(t, dir, "client.key", ck)
	cert, key := ca.issue(t, "broker", false, "broker.other.example")
	otherName := startTLSProxy(t, ca, cert, key)
	topic := pypeer.UniqueName(t, "rel-tlsname")
	startServer(t, brokerURL(), topic, nil)
	url := func(verify bool) string {
		return fmt.Sprintf("rabbit://guest:guest@localhost:%d/?ssl=true&ssl_ca_file=%s&ssl_cert_file=%s&ssl_key_file=%s&ssl_enforce_hostname_verification=%v",
			otherName.port(), caFile, certFile, keyFile, verify)
	}
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprintf("verify=%v/oslohost", verify), func(t *testing.T) {
			u, err := rabbit.ParseURL(url(verify))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := rabbit.Dial(ctx, rabbit.Config{URL: u, Name: "tls-name"})
			if err == nil {
				conn.Close()
			}
			if (err == nil) == verify {
				t.Fatalf("connect with verification %v: %v", verify, err)
			}
		})
		for _, peer := range pypeer.Peers {
			t.Run(fmt.Sprintf("verify=%v/%s", verify, peer), func(t *testing.T) {
				t.Parallel()
				pypeer.RequirePeer(t, peer)
				py := pypeer.StartClient(t, pypeer.ClientOptions{URL: url(verify), Peer: peer})
				// A refused broker makes oslo retry the connection without
				// end: no answer within the bound is the refusal.
				r, err := py.Do(bg(t, 10*time.Second), pypeer.Command{Op: pypeer.OpCall, Topic: topic, Method: "echo", Timeout: 8})
				if ok := err == nil && r.OK; ok == verify {
					t.Fatalf("call with verification %v: %v ok=%v %s %s", verify, err, r.OK, r.ExcClass, r.Msg)
				}
			})
		}
	}
}
