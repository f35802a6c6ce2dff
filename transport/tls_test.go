package transport_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestTL1_T4_DialTLSVerifyFailureIsDialError: certificates are verified
// by default, and a failed verification is DialTLS's error: no transport
// exists, so no consumer sees anything.
func TestTL1_T4_DialTLSVerifyFailureIsDialError(t *testing.T) {
	ca, server, client := tlsCerts(t)
	other, _, _ := tlsCerts(t)
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1"}
	good := server.Certificates[0]
	expired := tlsIssue(t, ca, certs.Leaf{Hosts: hosts, NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)})
	elsewhere := tlsIssue(t, ca, certs.Leaf{Hosts: []string{"other.example"}})
	unknownCA := func(err error) bool {
		var ua x509.UnknownAuthorityError
		var sr x509.SystemRootsError
		return errors.As(err, &ua) || errors.As(err, &sr)
	}
	isExpired := func(err error) bool {
		var ci x509.CertificateInvalidError
		return errors.As(err, &ci) && ci.Reason == x509.Expired
	}
	wrongHost := func(err error) bool {
		var he x509.HostnameError
		return errors.As(err, &he)
	}
	tests := []struct {
		name   string
		cert   tls.Certificate
		client *tls.Config
		want   func(error) bool
	}{
		{"default_roots", good, &tls.Config{}, unknownCA},
		{"other_ca", good, &tls.Config{RootCAs: other.Pool}, unknownCA},
		{"expired", expired, client, isExpired},
		{"wrong_host", elsewhere, client, wrongHost},
		{"server_name_mismatch", good, &tls.Config{RootCAs: ca.Pool, ServerName: "other.example"}, wrongHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, peers := tlsServePeer(t, &tls.Config{Certificates: []tls.Certificate{tt.cert}})
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			tr, err := transport.DialTLS(ctx, "tcp", addr, tt.client)
			if err == nil {
				tr.Abort()
				t.Fatalf("DialTLS succeeded, want a verification error")
			}
			if tr != nil {
				t.Errorf("DialTLS returned a transport with its error %v", err)
			}
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &cve) || !tt.want(err) {
				t.Errorf("DialTLS: %v (%T), want a certificate verification error of the right kind", err, err)
			}
			if r := tlsPeerResultOf(t, peers); r.err == nil {
				t.Errorf("the server's handshake succeeded, want it to see the client give up")
			}
		})
	}
}

// TestTL1_ListenTLSHandshakeFailureClosesThatConnOnly: a client that
// fails the handshake is closed, counted and reported, never accepted;
// the server goes on.
func TestTL1_ListenTLSHandshakeFailureClosesThatConnOnly(t *testing.T) {
	_, server, client := tlsCerts(t)
	other, _, _ := tlsCerts(t)
	hook, failures := tlsFailures()
	srv := tlsListen(t, server, hook)
	raw, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(waitTimeout))
	if err := tls.Client(raw, &tls.Config{RootCAs: other.Pool, ServerName: "localhost"}).Handshake(); err == nil {
		t.Fatalf("a client trusting another CA completed the handshake")
	}
	f := tlsNextFailure(t, failures)
	if f.err == nil || fmt.Sprint(f.remote) != raw.LocalAddr().String() {
		t.Errorf("hook got (%v, %v), want (%v, an error)", f.remote, f.err, raw.LocalAddr())
	}
	if n := srv.Stats().HandshakeFailures; n != 1 {
		t.Errorf("HandshakeFailures = %d, want 1", n)
	}
	expectPeerEnd(t, raw)
	tlsServesGoodClient(t, srv, client)
	if n := srv.Stats().HandshakeFailures; n != 1 {
		t.Errorf("HandshakeFailures = %d after a good client, want 1", n)
	}
}

// TestTL1_T3_DialTLSHandshakeTimeout: a peer that never answers the
// ClientHello fails DialTLS with ErrHandshakeTimeout, and the socket is
// closed.
func TestTL1_T3_DialTLSHandshakeTimeout(t *testing.T) {
	addr, conns := tlsSilentPeer(t)
	_, _, client := tlsCerts(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.DialTLS(ctx, "tcp", addr, client, transport.WithHandshakeTimeout(tlsShort))
	if !errors.Is(err, transport.ErrHandshakeTimeout) || !errors.Is(err, context.DeadlineExceeded) || tr != nil {
		t.Fatalf("DialTLS = %v, %v; want ErrHandshakeTimeout", tr, err)
	}
	select {
	case c := <-conns:
		expectPeerEnd(t, c)
	case <-time.After(waitTimeout):
		t.Fatalf("the peer accepted nothing")
	}
}

// TestTL1_DialTLSContextBoundsHandshake: cancelling DialTLS's ctx during
// the handshake ends it with the context's error.
func TestTL1_DialTLSContextBoundsHandshake(t *testing.T) {
	addr, conns := tlsSilentPeer(t)
	_, _, client := tlsCerts(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := make(chan error, 1)
	go func() {
		tr, err := transport.DialTLS(ctx, "tcp", addr, client)
		if tr != nil {
			tr.Abort()
		}
		res <- err
	}()
	c := <-conns
	tlsPeerRead(t, c, 1) // the ClientHello: the handshake runs
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) || errors.Is(err, transport.ErrHandshakeTimeout) {
			t.Fatalf("DialTLS: %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("DialTLS did not return after its ctx was cancelled")
	}
	expectPeerEnd(t, c)
}

// TestTL1_ListenTLSDropsSilentClient: a client that never handshakes is
// dropped after the handshake timeout and reported; the server goes on.
func TestTL1_ListenTLSDropsSilentClient(t *testing.T) {
	_, server, client := tlsCerts(t)
	hook, failures := tlsFailures()
	// Long enough for the good client's handshake on a loaded machine.
	srv := tlsListen(t, server, hook, transport.WithHandshakeTimeout(time.Second))
	silent, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer silent.Close()
	f := tlsNextFailure(t, failures)
	if !errors.Is(f.err, transport.ErrHandshakeTimeout) || fmt.Sprint(f.remote) != silent.LocalAddr().String() {
		t.Errorf("hook got (%v, %v), want (%v, ErrHandshakeTimeout)", f.remote, f.err, silent.LocalAddr())
	}
	expectPeerEnd(t, silent)
	tlsServesGoodClient(t, srv, client)
	if n := srv.Stats().HandshakeFailures; n != 1 {
		t.Errorf("HandshakeFailures = %d, want 1", n)
	}
}

// TestTL1_ER1_TLSBadOptions: a nil config and non-positive timeouts are
// errors of DialTLS, ListenTLS, Dial and Listen.
func TestTL1_ER1_TLSBadOptions(t *testing.T) {
	_, server, client := tlsCerts(t)
	addr, _ := tlsServePeer(t, server) // a wrongly accepted option would connect
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	bad := []struct {
		name string
		opt  transport.Option
	}{
		{"handshake_zero", transport.WithHandshakeTimeout(0)},
		{"handshake_negative", transport.WithHandshakeTimeout(-time.Second)},
		{"shutdown_zero", transport.WithShutdownTimeout(0)},
		{"shutdown_negative", transport.WithShutdownTimeout(-time.Second)},
		{"hello_zero", transport.WithHelloTimeout(0)},
		{"hello_negative", transport.WithHelloTimeout(-time.Second)},
	}
	for _, b := range bad {
		if tr, err := transport.DialTLS(ctx, "tcp", addr, client, b.opt); err == nil {
			tr.Abort()
			t.Errorf("DialTLS with %s succeeded", b.name)
		}
		if srv, err := transport.ListenTLS(ctx, "tcp", "127.0.0.1:0", server, b.opt); err == nil {
			srv.Close()
			t.Errorf("ListenTLS with %s succeeded", b.name)
		}
	}
	if _, err := transport.DialTLS(ctx, "tcp", addr, nil); !errors.Is(err, transport.ErrNilTLSConfig) {
		t.Errorf("DialTLS(nil config): %v, want ErrNilTLSConfig", err)
	}
	if _, err := transport.ListenTLS(ctx, "tcp", "127.0.0.1:0", nil); !errors.Is(err, transport.ErrNilTLSConfig) {
		t.Errorf("ListenTLS(nil config): %v, want ErrNilTLSConfig", err)
	}
	if _, err := transport.Dial(ctx, "tcp", addr, transport.WithTLS(nil)); !errors.Is(err, transport.ErrNilTLSConfig) {
		t.Errorf("Dial(WithTLS(nil)): %v, want ErrNilTLSConfig", err)
	}
	if _, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithTLS(nil)); !errors.Is(err, transport.ErrNilTLSConfig) {
		t.Errorf("Listen(WithTLS(nil)): %v, want ErrNilTLSConfig", err)
	}
}

// TestTL1_WithTLSSpeaksTLS: Dial and Listen with WithTLS are DialTLS and
// ListenTLS.
func TestTL1_WithTLSSpeaksTLS(t *testing.T) {
	_, server, client := tlsCerts(t)
	srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0", transport.WithTLS(server))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.Dial(ctx, "tcp", srv.Addr().String(), transport.WithTLS(client))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer tr.Abort()
	acc := accept(t, srv)
	for _, x := range []transport.Transport{tr, acc} {
		if v, ok := x.ExtraInfo(transport.InfoCipher); !ok || v.(transport.CipherInfo).Version != "TLS 1.3" {
			t.Errorf(`ExtraInfo("cipher") = %v, %v; want TLS 1.3`, v, ok)
		}
	}
	ch, ach := tr.Events(), acc.Events()
	tlsMade(t, ch)
	tlsMade(t, ach)
	tlsWrite(t, tr, "hello")
	if got := tlsData(t, ach, 5); got != "hello" {
		t.Fatalf("server read %q", got)
	}
}

// TestTL1_T6_TLSIsClosingWhenSocketFails: a reset of the socket under the
// TLS layer ends the transport with ECONNRESET; it is closing and writes
// are refused.
func TestTL1_T6_TLSIsClosingWhenSocketFails(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		tr, peer := tlsPair(t, side, nil)
		ch := tr.Events()
		tlsMade(t, ch)
		peer.raw.SetLinger(0)
		peer.raw.Close()
		e := waitLost(t, ch)
		var oe *net.OpError
		if !errors.Is(e.Err, syscall.ECONNRESET) || !errors.As(e.Err, &oe) {
			t.Errorf("Lost(%v), want ECONNRESET in a *net.OpError", e.Err)
		}
		if !tr.IsClosing() {
			t.Errorf("IsClosing false after the socket failed")
		}
		if _, err := tr.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after the failure: %v, want net.ErrClosed", err)
		}
	})
}

// TestTL1_WR4_TLSFlowCountsEncryptedBytes: a TLS transport pauses strictly
// over high and resumes at or below low, counting records (encrypted
// bytes), and every byte arrives in order.
func TestTL1_WR4_TLSFlowCountsEncryptedBytes(t *testing.T) {
	tlsSides(t, func(t *testing.T, side string) {
		const high, low, chunk = 64 << 10, 16 << 10, 16 << 10
		tr, peer := tlsPair(t, side, nil, transport.WithWriteBufferLimits(high, low))
		ch := tr.Events()
		tlsMade(t, ch)
		var sent int64
		for spWritable(tr) {
			if sent > 256<<20 {
				t.Fatalf("never paused after %d bytes", sent)
			}
			tlsWrite(t, tr, string(patternAt(sent, chunk)))
			sent += chunk
		}
		if size := tr.WriteBufferSize(); size <= high {
			t.Fatalf("paused with %d bytes buffered, want over %d", size, high)
		}
		if e := nextEvent(t, ch); e.Kind != stream.PauseWriting {
			t.Fatalf("got %v, want PauseWriting", e)
		}
		before := tr.WriteBufferSize()
		tlsWrite(t, tr, string(patternAt(sent, 1000)))
		sent += 1000
		if grew := tr.WriteBufferSize() - before; grew <= 1000 {
			t.Errorf("1000 bytes written while paused grew the buffer by %d, want their record's size", grew)
		}
		read := make(chan error, 1)
		go func() { read <- tlsCheckPattern(peer, sent) }()
		if e := nextEvent(t, ch); e.Kind != stream.ResumeWriting {
			t.Fatalf("got %v, want ResumeWriting", e)
		}
		if size := tr.WriteBufferSize(); size > low {
			t.Errorf("resumed with %d bytes buffered, want at most %d", size, low)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := tr.Drain(ctx); err != nil {
			t.Errorf("Drain: %v", err)
		}
		if err := <-read; err != nil {
			t.Fatal(err)
		}
	})
}

// TestTL1_X3_TLSExtraInfo: a TLS transport adds peercert, cipher,
// compression, sslcontext (the config passed) and ssl_object to the
// socket's keys, on both sides.
func TestTL1_X3_TLSExtraInfo(t *testing.T) {
	ca, server, client := tlsCerts(t)
	t.Run("dialed", func(t *testing.T) {
		addr, peers := tlsServePeer(t, server)
		tr := tlsDial(t, addr, client)
		peer := tlsPeerOf(t, peers)
		tlsCheckInfo(t, tr, client, server.Certificates[0].Leaf, peer)
	})
	t.Run("accepted_client_cert", func(t *testing.T) {
		cert := tlsIssue(t, ca, certs.Leaf{Hosts: []string{"client.example"}, Client: true})
		cfg := server.Clone()
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, ca.Pool
		srv := tlsListen(t, cfg)
		peer, err := tlsDialPeer(srv.Addr().String(), &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		defer peer.Close()
		tlsCheckInfo(t, accept(t, srv), cfg, cert.Leaf, peer)
	})
	t.Run("accepted_no_client_cert", func(t *testing.T) {
		srv := tlsListen(t, server)
		peer, err := tlsDialPeer(srv.Addr().String(), &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		defer peer.Close()
		tlsCheckInfo(t, accept(t, srv), server, nil, peer)
	})
}
