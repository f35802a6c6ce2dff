package main

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/internal/exampletest"

	"github.com/rxnet/rxnet/internal/enginetest"
)

// TestMain runs the tests once per engine (internal/enginetest), each pass
// checked for leaked goroutines.
func TestMain(m *testing.M) { enginetest.Main(m) }

// syncBuffer collects both sides' prints (see exampletest.Buffer).
type syncBuffer = exampletest.Buffer

// side returns the lines of out that start with who's prefix, in order,
// with addresses and the cipher suite masked.
func side(out, who string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, who+": ") {
			b.WriteString(mask(line))
		}
	}
	return b.String()
}

var (
	addrRE   = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	cipherRE = regexp.MustCompile(`TLS_[A-Z0-9_]+`)
)

// mask replaces addresses by ADDR and cipher suites by SUITE.
func mask(s string) string {
	return cipherRE.ReplaceAllString(addrRE.ReplaceAllString(s, "ADDR"), "SUITE")
}

func TestTLSEchoBothSides(t *testing.T) {
	var buf syncBuffer
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, "both", "127.0.0.1:0", "", []string{"ping", "pong"}); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	const wantClient = `client: connected to ADDR (TLS 1.3, SUITE)
client: server certificate for [localhost], issued by "rxnet test CA"
client: send ping
client: send pong
client: received ping
client: received pong
client: every line came back; close (close_notify)
client: connection closed: <nil>
`
	const wantServer = `server: serving on ADDR, certificate for localhost 127.0.0.1 ::1
server: connection from ADDR (TLS 1.3, SUITE)
server: echo ping
server: echo pong
server: the client sent close_notify; close
server: connection from ADDR closed: <nil>
`
	if c := side(got, "client"); c != wantClient {
		t.Errorf("client output:\n%s\nwant (masked):\n%s", c, wantClient)
	}
	if s := side(got, "server"); s != wantServer {
		t.Errorf("server output:\n%s\nwant (masked):\n%s", s, wantServer)
	}
}

// startServer runs -mode server in the background, with its CA written
// to caFile; it returns the server's address and a function that stops
// it and returns run's result.
func startServer(t *testing.T, buf *syncBuffer, caFile string) (string, func() error) {
	t.Helper()
	return exampletest.StartServer(t, buf, "server: serving on ", func(ctx context.Context) error {
		return run(ctx, "server", "127.0.0.1:0", caFile, nil)
	})
}

func TestTLSEchoServerThenClient(t *testing.T) {
	buf := syncBuffer{Lines: make(chan string, 256)}
	out = &buf
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	addr, stop := startServer(t, &buf, caFile)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Two clients in turn: the server keeps serving.
	for _, msg := range []string{"one", "two"} {
		if err := run(ctx, "client", addr, caFile, []string{msg}); err != nil {
			t.Fatalf("client %s: %v", msg, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("server: %v", err)
	}
	got := buf.String()
	for _, msg := range []string{"one", "two"} {
		for _, want := range []string{"client: send " + msg + "\n", "server: echo " + msg + "\n", "client: received " + msg + "\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, got)
			}
		}
	}
	if n := strings.Count(got, "client: connection closed: <nil>\n"); n != 2 {
		t.Errorf("%d clean client closes, want 2:\n%s", n, got)
	}
}

// TestTLSEchoUntrustedServer: a client that trusts another CA fails in
// the handshake, before its protocol sees anything, and the server goes
// on serving.
func TestTLSEchoUntrustedServer(t *testing.T) {
	buf := syncBuffer{Lines: make(chan string, 256)}
	out = &buf
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	addr, stop := startServer(t, &buf, caFile)
	defer stop()
	other, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := other.Issue(certs.Leaf{Hosts: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	otherFile, _, _, err := other.WritePEM(t.TempDir(), leaf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = run(ctx, "client", addr, otherFile, []string{"secret"})
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("client trusting another CA: %v, want x509.UnknownAuthorityError", err)
	}
	if got := buf.String(); strings.Contains(got, "client: ") || strings.Contains(got, "secret") {
		t.Errorf("the client's protocol ran, or the line was sent:\n%s", got)
	}
	if err := run(ctx, "client", addr, caFile, []string{"trusted"}); err != nil {
		t.Fatalf("a trusting client after the failed one: %v", err)
	}
}

func TestTLSEchoClientErrors(t *testing.T) {
	out = &syncBuffer{}
	ctx := context.Background()
	if err := run(ctx, "client", "127.0.0.1:1", "", nil); err == nil || !strings.Contains(err.Error(), "-ca") {
		t.Errorf("client without -ca: %v, want an error naming -ca", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, "client", "127.0.0.1:1", empty, nil); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("client with a bad -ca file: %v, want no PEM certificate", err)
	}
}

func TestTLSEchoUnknownMode(t *testing.T) {
	if err := run(context.Background(), "sideways", "127.0.0.1:0", "", nil); err == nil {
		t.Fatal("want an error for an unknown mode")
	}
}
