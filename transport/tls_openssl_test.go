package transport_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// tlsOpenSSL is a running openssl command whose stdout the test reads
// line by line; it is killed and reaped when the test ends.
type tlsOpenSSL struct {
	exited  <-chan struct{} // closed once cmd.Wait returned exitErr
	exitErr error
	stdin   io.WriteCloser
	out     *os.File
	lines   *bufio.Reader
}

// tlsStartOpenSSL starts openssl with args, skipping the test when there
// is no openssl. Its stderr goes to a file, shown if the test fails.
func tlsStartOpenSSL(t *testing.T, args ...string) *tlsOpenSSL {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skipf("no openssl: %v", err)
	}
	cmd := exec.Command(path, args...)
	errFile, err := os.Create(t.TempDir() + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = errFile // an *os.File: os/exec starts no copying goroutine
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatalf("openssl %v: %v", args, err)
	}
	w.Close()
	exited := make(chan struct{})
	o := &tlsOpenSSL{exited: exited, stdin: stdin, out: r, lines: bufio.NewReader(r)}
	go func() {
		o.exitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		r.Close()
		errFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(errFile.Name())
			t.Logf("openssl %s stderr:\n%s", strings.Join(args, " "), b)
		}
	})
	return o
}

// until reads openssl's stdout until a line holds want, and returns it.
func (o *tlsOpenSSL) until(t *testing.T, want string) string {
	t.Helper()
	o.out.SetReadDeadline(time.Now().Add(waitTimeout))
	var seen []string
	for {
		line, err := o.lines.ReadString('\n')
		if strings.Contains(line, want) {
			return strings.TrimSpace(line)
		}
		seen = append(seen, line)
		if err != nil {
			t.Fatalf("openssl's output ended (%v) without %q; it said %q", err, want, seen)
		}
	}
}

// tlsPEM writes the CA and a certificate for localhost and 127.0.0.1 as
// PEM files in a fresh directory.
func tlsPEM(t *testing.T, ca *certs.CA, cert tls.Certificate) (caFile, certFile, keyFile string) {
	t.Helper()
	caFile, certFile, keyFile, err := ca.WritePEM(t.TempDir(), cert)
	if err != nil {
		t.Fatalf("WritePEM: %v", err)
	}
	return caFile, certFile, keyFile
}

// tlsVersions are the protocol versions the interop tests run, as
// openssl's flag and crypto/tls's name.
var tlsVersions = []struct{ flag, name string }{{"-tls1_3", "TLS 1.3"}, {"-tls1_2", "TLS 1.2"}}

// TestTL1_TLSDialOpenSSLServer: DialTLS talks to `openssl s_server`
// (which echoes each line reversed, -rev) and verifies its certificate;
// Close and s_server exchange close_notify.
func TestTL1_TLSDialOpenSSLServer(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			ca, server, client := tlsCerts(t)
			_, certFile, keyFile := tlsPEM(t, ca, server.Certificates[0])
			o := tlsStartOpenSSL(t, "s_server", "-accept", "127.0.0.1:0", "-cert", certFile, "-key", keyFile,
				"-rev", "-naccept", "1", v.flag)
			addr := strings.TrimSpace(strings.TrimPrefix(o.until(t, "ACCEPT"), "ACCEPT"))
			tr := tlsDial(t, addr, client, transport.WithShutdownTimeout(waitTimeout))
			if got, _ := tr.ExtraInfo(transport.InfoCipher); got.(transport.CipherInfo).Version != v.name {
				t.Errorf("cipher %v, want %s", got, v.name)
			}
			ch := tr.Events()
			tlsMade(t, ch)
			tlsWrite(t, tr, "hello rxnet\n")
			if got := tlsData(t, ch, 12); got != "tenxr olleh\n" {
				t.Fatalf("read %q, want the line reversed", got)
			}
			tr.Close() // s_server answers close_notify
			if evs := tlsUntilLost(t, ch); len(evs) != 1 || evs[0].Err != nil {
				t.Fatalf("after Close: %v, want Lost(nil)", evs)
			}
		})
	}
}

// TestTL1_TLSListenOpenSSLClient: a ListenTLS server echoes what
// `openssl s_client` sends, the client verifying the server's
// certificate; the server's Close ends the client cleanly.
func TestTL1_TLSListenOpenSSLClient(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(v.name, func(t *testing.T) {
			ca, server, _ := tlsCerts(t)
			caFile, _, _ := tlsPEM(t, ca, server.Certificates[0])
			srv := tlsListen(t, server, transport.WithShutdownTimeout(waitTimeout))
			o := tlsStartOpenSSL(t, "s_client", "-connect", srv.Addr().String(), "-CAfile", caFile,
				"-servername", "localhost", "-verify_return_error", "-quiet", v.flag)
			tr := accept(t, srv)
			if got, _ := tr.ExtraInfo(transport.InfoCipher); got.(transport.CipherInfo).Version != v.name {
				t.Errorf("cipher %v, want %s", got, v.name)
			}
			ch := tr.Events()
			tlsMade(t, ch)
			if _, err := io.WriteString(o.stdin, "hello from openssl\n"); err != nil {
				t.Fatalf("openssl stdin: %v", err)
			}
			line := tlsData(t, ch, 19)
			if line != "hello from openssl\n" {
				t.Fatalf("read %q", line)
			}
			tlsWrite(t, tr, "echo: "+line)
			o.until(t, "echo: hello from openssl")
			tr.Close() // s_client answers close_notify and exits
			evs := tlsUntilLost(t, ch)
			if e := evs[len(evs)-1]; e.Err != nil || tlsHas(evs, stream.Data) {
				t.Fatalf("after Close: %v, want Lost(nil)", evs)
			}
			select {
			case <-o.exited:
				if o.exitErr != nil {
					t.Errorf("s_client: %v, want a clean exit", o.exitErr)
				}
			case <-time.After(waitTimeout):
				t.Errorf("s_client did not exit after the server's close_notify")
			}
		})
	}
}
