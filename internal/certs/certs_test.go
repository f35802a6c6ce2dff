package certs_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
)

func newCA(t *testing.T) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func issue(t *testing.T, ca *certs.CA, l certs.Leaf) tls.Certificate {
	t.Helper()
	cert, err := ca.Issue(l)
	if err != nil {
		t.Fatalf("Issue(%+v): %v", l, err)
	}
	if cert.Leaf == nil || len(cert.Certificate) != 1 || !cert.Leaf.Equal(mustParse(t, cert.Certificate[0])) {
		t.Fatalf("Issue: Leaf and Certificate[0] disagree")
	}
	return cert
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	return c
}

// verify verifies leaf against pool for host and usage.
func verify(leaf *x509.Certificate, pool *x509.CertPool, host string, usage x509.ExtKeyUsage) error {
	_, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// TestCertsIssueVerifiesForItsHosts: a certificate verifies against its
// CA's pool for each of its hosts, names and addresses, and for no other
// host, and not against another CA's pool.
func TestCertsIssueVerifiesForItsHosts(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	cert := issue(t, ca, certs.Leaf{Hosts: []string{"example.test", "127.0.0.1", "::1"}})
	for _, host := range []string{"example.test", "127.0.0.1", "::1"} {
		if err := verify(cert.Leaf, ca.Pool, host, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	for _, host := range []string{"other.test", "127.0.0.2", "localhost"} {
		var he x509.HostnameError
		if err := verify(cert.Leaf, ca.Pool, host, x509.ExtKeyUsageServerAuth); !errors.As(err, &he) {
			t.Errorf("verify for %s: %v, want a HostnameError", host, err)
		}
	}
	var ua x509.UnknownAuthorityError
	if err := verify(cert.Leaf, other.Pool, "example.test", x509.ExtKeyUsageServerAuth); !errors.As(err, &ua) {
		t.Errorf("verify against another CA: %v, want an UnknownAuthorityError", err)
	}
	if !ca.Cert.IsCA || ca.Cert.Subject.String() == "" {
		t.Errorf("the CA's certificate is not a CA: %+v", ca.Cert)
	}
}

// TestCertsValidityBounds: the zero bounds make a certificate valid now;
// given bounds are kept, and an expired or future one fails to verify.
func TestCertsValidityBounds(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	cur := issue(t, ca, certs.Leaf{Hosts: []string{"example.test"}})
	if !cur.Leaf.NotBefore.Before(now) || !cur.Leaf.NotAfter.After(now) {
		t.Errorf("default validity %v..%v does not hold now", cur.Leaf.NotBefore, cur.Leaf.NotAfter)
	}
	for _, tt := range []struct {
		name       string
		start, end time.Time
	}{
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour)},
		{"not_yet_valid", now.Add(time.Hour), now.Add(2 * time.Hour)},
	} {
		c := issue(t, ca, certs.Leaf{Hosts: []string{"example.test"}, NotBefore: tt.start, NotAfter: tt.end})
		if !c.Leaf.NotBefore.Equal(tt.start.Truncate(time.Second)) || !c.Leaf.NotAfter.Equal(tt.end.Truncate(time.Second)) {
			t.Errorf("%s: validity %v..%v, want %v..%v", tt.name, c.Leaf.NotBefore, c.Leaf.NotAfter, tt.start, tt.end)
		}
		var ci x509.CertificateInvalidError
		if err := verify(c.Leaf, ca.Pool, "example.test", x509.ExtKeyUsageServerAuth); !errors.As(err, &ci) || ci.Reason != x509.Expired {
			t.Errorf("%s: verify: %v, want x509.Expired", tt.name, err)
		}
	}
}

// TestCertsClientUsage: a client certificate verifies for client auth
// only, a server one for server auth only.
func TestCertsClientUsage(t *testing.T) {
	ca := newCA(t)
	client := issue(t, ca, certs.Leaf{Hosts: []string{"client.test"}, Client: true})
	server := issue(t, ca, certs.Leaf{Hosts: []string{"client.test"}})
	if err := verify(client.Leaf, ca.Pool, "", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client cert for client auth: %v", err)
	}
	if err := verify(client.Leaf, ca.Pool, "", x509.ExtKeyUsageServerAuth); err == nil {
		t.Errorf("client cert verified for server auth")
	}
	if err := verify(server.Leaf, ca.Pool, "", x509.ExtKeyUsageClientAuth); err == nil {
		t.Errorf("server cert verified for client auth")
	}
}

// TestCertsLocalhostConfigsHandshake: Localhost's configs complete a TLS
// handshake with each other, the client verifying the server.
func TestCertsLocalhostConfigsHandshake(t *testing.T) {
	ca := newCA(t)
	server, client, err := ca.Localhost()
	if err != nil {
		t.Fatalf("Localhost: %v", err)
	}
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		c, s := net.Pipe()
		cfg := client.Clone()
		cfg.ServerName = name
		done := make(chan error, 1)
		go func() { done <- tls.Server(s, server).Handshake() }()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		s.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tls.Client(c, cfg).Handshake(); err != nil {
			t.Errorf("client handshake as %s: %v", name, err)
		}
		c.Close()
		<-done
		s.Close()
	}
	if client.ServerName != "" || client.InsecureSkipVerify || client.RootCAs == nil {
		t.Errorf("client config %+v: want RootCAs only", client)
	}
}

// TestCertsWritePEM: the three files parse back to the CA's certificate
// and the given certificate and key.
func TestCertsWritePEM(t *testing.T) {
	ca := newCA(t)
	cert := issue(t, ca, certs.Leaf{Hosts: []string{"localhost"}})
	dir := t.TempDir()
	caFile, certFile, keyFile, err := ca.WritePEM(dir, cert)
	if err != nil {
		t.Fatalf("WritePEM: %v", err)
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 || !mustParse(t, block.Bytes).Equal(ca.Cert) {
		t.Errorf("%s does not hold the CA's certificate alone", caFile)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("LoadX509KeyPair: %v", err)
	}
	if !mustParse(t, pair.Certificate[0]).Equal(cert.Leaf) {
		t.Errorf("%s does not hold the issued certificate", certFile)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("key file mode %v, %v; want private to its owner", st.Mode(), err)
	}
	if _, _, _, err := ca.WritePEM(dir+"/missing", cert); err == nil {
		t.Errorf("WritePEM into a missing directory succeeded")
	}
}

// TestCertsWriteCATrusting: a config from Trusting on WriteCA's file
// verifies the CA's certificates for the hosts ServeHosts lists, and a
// file without a certificate is an error.
func TestCertsWriteCATrusting(t *testing.T) {
	ca := newCA(t)
	hosts := certs.ServeHosts("192.0.2.7:443")
	if len(hosts) != 4 || hosts[3] != "192.0.2.7" {
		t.Fatalf("ServeHosts: %v, want localhost, 127.0.0.1, ::1 and 192.0.2.7", hosts)
	}
	if got := certs.ServeHosts("localhost:0"); len(got) != 3 {
		t.Fatalf("ServeHosts(localhost:0): %v, want the three local names", got)
	}
	cert, err := ca.Issue(certs.Leaf{Hosts: hosts})
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/ca.pem"
	if err := ca.WriteCA(path); err != nil {
		t.Fatal(err)
	}
	cfg, err := certs.Trusting(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: "192.0.2.7"}
	if _, err := cert.Leaf.Verify(opts); err != nil {
		t.Fatalf("verify with Trusting's roots: %v", err)
	}
	os.WriteFile(path, []byte("not PEM"), 0o600)
	if _, err := certs.Trusting(path); err == nil {
		t.Fatal("Trusting a file without a certificate: no error")
	}
}
