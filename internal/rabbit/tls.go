package rabbit

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSConfig builds the TLS client configuration from the ssl_* options:
// the CA file (system roots when empty), the client certificate and key, and
// host-name verification, which oslohost does by default (turn it off with
// ssl_enforce_hostname_verification=false to check only the chain, as oslo
// does by default). The server name is filled in per host when dialing.
func (o Options) TLSConfig() (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	switch o.SSLVersion {
	case "TLSv1", "TLSv1_1":
		t.MinVersion = tls.VersionTLS10
	}
	if o.SSLCAFile != "" {
		pem, err := os.ReadFile(o.SSLCAFile)
		if err != nil {
			return nil, fmt.Errorf("read ssl_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ssl_ca_file %s: no PEM certificate found", o.SSLCAFile)
		}
		t.RootCAs = pool
	}
	if o.SSLCertFile != "" || o.SSLKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(o.SSLCertFile, o.SSLKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load ssl_cert_file/ssl_key_file: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	if !o.SSLVerifyHostname {
		// Verify the chain against the roots but not the host name.
		roots := t.RootCAs
		t.InsecureSkipVerify = true
		t.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	return t, nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return fmt.Errorf("tls: broker sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("tls: parse broker certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}
