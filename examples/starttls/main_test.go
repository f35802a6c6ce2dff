package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"net"
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

var (
	addrRE   = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	cipherRE = regexp.MustCompile(`TLS_[A-Z0-9_]+`)
)

// side returns the lines of out that start with who's prefix, in order,
// with addresses replaced by ADDR and cipher suites by SUITE.
func side(out, who string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(line, who+": ") {
			b.WriteString(cipherRE.ReplaceAllString(addrRE.ReplaceAllString(line, "ADDR"), "SUITE"))
		}
	}
	return b.String()
}

func TestStartTLSBothSides(t *testing.T) {
	var buf syncBuffer
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, "both", "127.0.0.1:0", "", []string{"first", "second"}); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	const wantClient = `client: connected to ADDR (plain text)
client: < 220 ready
client: > STARTTLS
client: < 220 go ahead
client: TLS handshake done (TLS 1.3, SUITE)
client: server certificate for [localhost]
client: > first
client: > second
client: < 250 got first
client: < 250 got second
client: every line answered; close (close_notify)
client: connection closed: <nil>
`
	const wantServer = `server: serving on ADDR
server: connection from ADDR (plain text)
server: > 220 ready
server: < STARTTLS
server: > 220 go ahead
server: TLS handshake done (TLS 1.3, SUITE)
server: < first
server: > 250 got first
server: < second
server: > 250 got second
server: < close_notify; close
server: connection closed: <nil>
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

func TestStartTLSServerThenClient(t *testing.T) {
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
		for _, want := range []string{"client: > " + msg + "\n", "server: < " + msg + "\n", "client: < 250 got " + msg + "\n"} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, got)
			}
		}
	}
	if n := strings.Count(got, "client: connection closed: <nil>\n"); n != 2 {
		t.Errorf("%d clean client closes, want 2:\n%s", n, got)
	}
}

// TestStartTLSUntrustedServer: a client that trusts another CA fails
// its StartTLS; both sides' connections end with the handshake's error,
// no line is sent, and the server goes on serving.
func TestStartTLSUntrustedServer(t *testing.T) {
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
	buf.WaitLine(t, "server: connection closed: ")
	got := buf.String()
	for _, want := range []string{"client: StartTLS failed: ", "server: StartTLS failed: "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "secret") || strings.Contains(got, "connection closed: <nil>") {
		t.Errorf("a line was sent, or a connection ended cleanly:\n%s", got)
	}
	if err := run(ctx, "client", addr, caFile, []string{"trusted"}); err != nil {
		t.Fatalf("a trusting client after the failed one: %v", err)
	}
}

// TestStartTLSRequired: the server answers plain-text commands other
// than STARTTLS with 530.
func TestStartTLSRequired(t *testing.T) {
	buf := syncBuffer{Lines: make(chan string, 256)}
	out = &buf
	addr, stop := startServer(t, &buf, "")
	defer stop()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); line != "220 ready\n" {
		t.Fatalf("greeting %q, %v", line, err)
	}
	c.Write([]byte("MAIL FROM:<a@b>\r\n"))
	if line, err := r.ReadString('\n'); line != "530 STARTTLS first\n" {
		t.Fatalf("reply %q, %v; want 530", line, err)
	}
}

func TestStartTLSUnknownMode(t *testing.T) {
	if err := run(context.Background(), "sideways", "127.0.0.1:0", "", nil); err == nil {
		t.Fatal("want an error for an unknown mode")
	}
}
