package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// tlsShort is the handshake or shutdown timeout of the tests that wait
// for one to pass; the waits themselves are guarded by waitTimeout.
const tlsShort = 100 * time.Millisecond

// tlsCerts makes a CA, a server config with a certificate for localhost,
// 127.0.0.1 and ::1, and a client config that trusts the CA.
func tlsCerts(t testing.TB) (ca *certs.CA, server, client *tls.Config) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	server, client, err = ca.Localhost()
	if err != nil {
		t.Fatalf("Localhost: %v", err)
	}
	return ca, server, client
}

// tlsIssue issues a certificate signed by ca.
func tlsIssue(t testing.TB, ca *certs.CA, l certs.Leaf) tls.Certificate {
	t.Helper()
	cert, err := ca.Issue(l)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return cert
}

// tlsSpy is the socket under a crypto/tls peer: it records whether the
// socket itself said EOF. A tls.Conn read that returns io.EOF while the
// socket has not is a close_notify, not a bare FIN.
type tlsSpy struct {
	net.Conn
	rawEOF atomic.Bool
}

// Read implements net.Conn.
func (s *tlsSpy) Read(p []byte) (int, error) {
	n, err := s.Conn.Read(p)
	if errors.Is(err, io.EOF) {
		s.rawEOF.Store(true)
	}
	return n, err
}

// tlsPeer is the crypto/tls end of a connection to a TLS transport, its
// handshake done.
type tlsPeer struct {
	*tls.Conn
	raw *net.TCPConn
	spy *tlsSpy
}

// tlsSides runs f once for a TLS transport on each side: "dialed" (by
// DialTLS, to a crypto/tls server) and "accepted" (by a ListenTLS
// server, from a crypto/tls client).
func tlsSides(t *testing.T, f func(t *testing.T, side string)) {
	for _, side := range []string{"dialed", "accepted"} {
		t.Run(side, func(t *testing.T) { f(t, side) })
	}
}

// tlsPair connects a TLS transport made with opts (see tlsSides) to a
// crypto/tls peer whose config peerConf may change. The transport's
// events are not claimed; it is aborted and the peer closed when the
// test ends.
func tlsPair(t *testing.T, side string, peerConf func(*tls.Config), opts ...transport.Option) (transport.Transport, *tlsPeer) {
	t.Helper()
	_, server, client := tlsCerts(t)
	if side == "dialed" {
		if peerConf != nil {
			peerConf(server)
		}
		addr, peers := tlsServePeer(t, server)
		tr := tlsDial(t, addr, client, opts...)
		return tr, tlsPeerOf(t, peers)
	}
	client.ServerName = "localhost"
	if peerConf != nil {
		peerConf(client)
	}
	srv := tlsListen(t, server, opts...)
	peer, err := tlsDialPeer(srv.Addr().String(), client)
	if err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	t.Cleanup(func() { peer.Close() })
	return accept(t, srv), peer
}

// tlsDial dials a TLS transport and aborts it when the test ends.
func tlsDial(t *testing.T, addr string, config *tls.Config, opts ...transport.Option) transport.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.DialTLS(ctx, "tcp", addr, config, opts...)
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// tlsListen starts a ListenTLS server on 127.0.0.1 and closes it when
// the test ends.
func tlsListen(t *testing.T, config *tls.Config, opts ...transport.Option) *transport.Server {
	t.Helper()
	srv, err := transport.ListenTLS(context.Background(), "tcp", "127.0.0.1:0", config, opts...)
	if err != nil {
		t.Fatalf("ListenTLS: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// tlsDialPeer connects a crypto/tls client to addr and runs its
// handshake; the caller closes it.
func tlsDialPeer(addr string, config *tls.Config) (*tlsPeer, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	spy := &tlsSpy{Conn: c}
	tc := tls.Client(spy, config)
	c.SetDeadline(time.Now().Add(waitTimeout))
	err = tc.Handshake()
	c.SetDeadline(time.Time{})
	if err != nil {
		c.Close()
		return nil, err
	}
	return &tlsPeer{Conn: tc, raw: c.(*net.TCPConn), spy: spy}, nil
}

// tlsPeerResult is a crypto/tls server's end of one handshake.
type tlsPeerResult struct {
	peer *tlsPeer
	err  error
}

// tlsServePeer listens on 127.0.0.1 and runs a crypto/tls server
// handshake with config on each connection, handing out the outcome.
// Everything is closed when the test ends.
func tlsServePeer(t *testing.T, config *tls.Config) (addr string, peers <-chan tlsPeerResult) {
	t.Helper()
	out := make(chan tlsPeerResult)
	addr = tlsAcceptLoop(t, func(c net.Conn, stop <-chan struct{}) {
		select {
		case out <- tlsHandshakePeer(c, config):
		case <-stop:
		}
	})
	return addr, out
}

// tlsAcceptLoop listens on 127.0.0.1 and runs serve on its own goroutine
// for each connection; when the test ends, stop is closed, every
// connection is closed and every goroutine waited for.
func tlsAcceptLoop(t *testing.T, serve func(c net.Conn, stop <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { serve(c, stop) })
		}
	})
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// tlsHandshakePeer runs a crypto/tls server handshake on c.
func tlsHandshakePeer(c net.Conn, config *tls.Config) tlsPeerResult {
	spy := &tlsSpy{Conn: c}
	tc := tls.Server(spy, config)
	c.SetDeadline(time.Now().Add(waitTimeout))
	err := tc.Handshake()
	c.SetDeadline(time.Time{})
	return tlsPeerResult{peer: &tlsPeer{Conn: tc, raw: c.(*net.TCPConn), spy: spy}, err: err}
}

// tlsPeerOf returns the next peer of tlsServePeer, failing the test if its
// handshake failed.
func tlsPeerOf(t *testing.T, peers <-chan tlsPeerResult) *tlsPeer {
	t.Helper()
	r := tlsPeerResultOf(t, peers)
	if r.err != nil {
		t.Fatalf("peer handshake: %v", r.err)
	}
	return r.peer
}

// tlsPeerResultOf returns the next outcome of tlsServePeer.
func tlsPeerResultOf(t *testing.T, peers <-chan tlsPeerResult) tlsPeerResult {
	t.Helper()
	select {
	case r := <-peers:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("no peer handshake within %v", waitTimeout)
		return tlsPeerResult{}
	}
}

// tlsSilentPeer listens on 127.0.0.1 and accepts connections that say
// nothing, handing each out; they are closed when the test ends.
func tlsSilentPeer(t *testing.T) (addr string, conns <-chan net.Conn) {
	t.Helper()
	out := make(chan net.Conn)
	addr = tlsAcceptLoop(t, func(c net.Conn, stop <-chan struct{}) {
		select {
		case out <- c:
		case <-stop:
		}
	})
	return addr, out
}

// tlsMade takes the first event, which must be Made.
func tlsMade(t *testing.T, ch <-chan stream.Event) {
	t.Helper()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
}

// tlsData receives Data events until n bytes came and returns them;
// flow events are skipped, any other event fails the test.
func tlsData(t *testing.T, ch <-chan stream.Event, n int) string {
	t.Helper()
	var got []byte
	for len(got) < n {
		switch e := nextEvent(t, ch); e.Kind {
		case stream.Data:
			got = append(got, e.Data...)
		case stream.PauseWriting, stream.ResumeWriting:
		default:
			t.Fatalf("after %q: got %v, want Data", got, e)
		}
	}
	return string(got)
}

// tlsUntilLost receives events until Lost and returns them, Lost last.
func tlsUntilLost(t *testing.T, ch <-chan stream.Event) []stream.Event {
	t.Helper()
	var evs []stream.Event
	for {
		e := nextEvent(t, ch)
		evs = append(evs, e)
		if e.Kind == stream.Lost {
			return evs
		}
	}
}

// tlsHas reports whether evs hold an event of kind k.
func tlsHas(evs []stream.Event, k stream.Kind) bool {
	for _, e := range evs {
		if e.Kind == k {
			return true
		}
	}
	return false
}

// tlsPeerRead reads exactly n bytes at the peer.
func tlsPeerRead(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("peer read: %v (after %q)", err, buf)
	}
	return string(buf)
}

// tlsPeerReadToCloseNotify reads at the peer until the transport's
// close_notify and returns what came before it; a bare FIN or any error
// fails the test.
func tlsPeerReadToCloseNotify(t *testing.T, p *tlsPeer) string {
	t.Helper()
	p.SetReadDeadline(time.Now().Add(waitTimeout))
	defer p.SetReadDeadline(time.Time{})
	got, err := io.ReadAll(p)
	if err != nil {
		t.Fatalf("peer read: %v after %q, want the transport's close_notify", err, got)
	}
	if p.spy.rawEOF.Load() {
		t.Fatalf("peer read a bare FIN after %q, want a close_notify first", got)
	}
	return string(got)
}

// tlsWrite writes p, failing the test on an error.
func tlsWrite(t *testing.T, w io.Writer, p string) {
	t.Helper()
	if _, err := w.Write([]byte(p)); err != nil {
		t.Fatalf("Write(%q): %v", p, err)
	}
}

// tlsFailure is one call of a WithHandshakeFailures hook.
type tlsFailure struct {
	remote net.Addr
	err    error
}

// tlsFailures returns a WithHandshakeFailures option and what it records:
// the first 8 failures (a hook must not block the server).
func tlsFailures() (transport.Option, <-chan tlsFailure) {
	ch := make(chan tlsFailure, 8)
	return transport.WithHandshakeFailures(func(remote net.Addr, err error) {
		select {
		case ch <- tlsFailure{remote, err}:
		default:
		}
	}), ch
}

// tlsNextFailure returns the next handshake failure a server reported.
func tlsNextFailure(t *testing.T, ch <-chan tlsFailure) tlsFailure {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(waitTimeout):
		t.Fatalf("no handshake failure reported within %v", waitTimeout)
		return tlsFailure{}
	}
}

// tlsServesGoodClient checks that srv still hands out a working
// transport to a client that trusts it, and that it is that client's.
func tlsServesGoodClient(t *testing.T, srv *transport.Server, client *tls.Config) {
	t.Helper()
	cfg := client.Clone()
	cfg.ServerName = "localhost"
	peer, err := tlsDialPeer(srv.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("good client: %v", err)
	}
	defer peer.Close()
	tr := accept(t, srv)
	if v, _ := tr.ExtraInfo(transport.InfoPeername); fmt.Sprint(v) != peer.LocalAddr().String() {
		t.Fatalf("accepted %v, want the good client %v", v, peer.LocalAddr())
	}
	ch := tr.Events()
	tlsMade(t, ch)
	tlsWrite(t, peer, "ping")
	if got := tlsData(t, ch, 4); got != "ping" {
		t.Fatalf("server read %q, want ping", got)
	}
	tlsWrite(t, tr, "pong")
	if got := tlsPeerRead(t, peer, 4); got != "pong" {
		t.Fatalf("client read %q, want pong", got)
	}
}

// tlsCheckPattern reads n bytes at the peer and checks they are the
// pattern of patternAt.
func tlsCheckPattern(peer *tlsPeer, n int64) error {
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 64<<10)
	for off := int64(0); off < n; {
		m, err := peer.Read(buf[:min(int64(len(buf)), n-off)])
		if !bytes.Equal(buf[:m], patternAt(off, m)) {
			return fmt.Errorf("peer: bytes %d..%d are not the ones written", off, off+int64(m))
		}
		off += int64(m)
		if err != nil && off < n {
			return fmt.Errorf("peer read: %v after %d of %d bytes", err, off, n)
		}
	}
	return nil
}

// tlsCheckInfo checks tr's ExtraInfo against its config, the certificate
// its peer sent (nil for none) and the peer's view of the connection.
func tlsCheckInfo(t *testing.T, tr transport.Transport, config *tls.Config, peerCert *x509.Certificate, peer *tlsPeer) {
	t.Helper()
	ps := peer.ConnectionState()
	v, ok := tr.ExtraInfo(transport.InfoPeercert)
	got, _ := v.(*x509.Certificate)
	if peerCert == nil && (ok || got != nil) || peerCert != nil && (!ok || got == nil || !got.Equal(peerCert)) {
		t.Errorf(`ExtraInfo("peercert") = %v, %v; want %v`, v, ok, peerCert)
	}
	want := transport.CipherInfo{Name: tls.CipherSuiteName(ps.CipherSuite), Version: "TLS 1.3", ID: ps.CipherSuite}
	if v, ok := tr.ExtraInfo(transport.InfoCipher); !ok || v != want {
		t.Errorf(`ExtraInfo("cipher") = %v, %v; want %v`, v, ok, want)
	}
	if v, ok := tr.ExtraInfo(transport.InfoCompression); !ok || v != nil {
		t.Errorf(`ExtraInfo("compression") = %v, %v; want nil, true`, v, ok)
	}
	if v, ok := tr.ExtraInfo(transport.InfoSSLContext); !ok || v != any(config) {
		t.Errorf(`ExtraInfo("sslcontext") = %p, %v; want the config passed, %p`, v, ok, config)
	}
	v, ok = tr.ExtraInfo(transport.InfoSSLObject)
	st, _ := v.(tls.ConnectionState)
	if !ok || !st.HandshakeComplete || st.Version != tls.VersionTLS13 || st.CipherSuite != ps.CipherSuite ||
		(peerCert != nil && (len(st.PeerCertificates) == 0 || !st.PeerCertificates[0].Equal(peerCert))) {
		t.Errorf(`ExtraInfo("ssl_object") = %+v, %v; want the handshake's tls.ConnectionState`, v, ok)
	}
	if v, ok := tr.ExtraInfo(transport.InfoPeername); !ok || fmt.Sprint(v) != peer.LocalAddr().String() {
		t.Errorf(`ExtraInfo("peername") = %v, %v; want %v`, v, ok, peer.LocalAddr())
	}
	if v, ok := tr.ExtraInfo(transport.InfoSockname); !ok || fmt.Sprint(v) != peer.RemoteAddr().String() {
		t.Errorf(`ExtraInfo("sockname") = %v, %v; want %v`, v, ok, peer.RemoteAddr())
	}
	if v, ok := tr.ExtraInfo(transport.InfoSocket); !ok || v.(syscall.RawConn) == nil {
		t.Errorf(`ExtraInfo("socket") = %v, %v; want a syscall.RawConn`, v, ok)
	}
	if v, ok := tr.ExtraInfo("nope"); ok || v != nil {
		t.Errorf(`ExtraInfo("nope") = %v, %v; want nil, false`, v, ok)
	}
}
