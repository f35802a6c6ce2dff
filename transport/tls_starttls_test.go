package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// tlsStart runs StartTLS under a waitTimeout guard.
func tlsStart(tr transport.Transport, config *tls.Config, opts ...transport.Option) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return transport.StartTLS(ctx, tr, config, opts...)
}

// tlsStartAsync runs tlsStart on its own goroutine.
func tlsStartAsync(tr transport.Transport, config *tls.Config, opts ...transport.Option) <-chan error {
	res := make(chan error, 1)
	go func() { res <- tlsStart(tr, config, opts...) }()
	return res
}

// tlsPeerHandshake runs a crypto/tls handshake over peer on its own
// goroutine: the server side when server is set.
func tlsPeerHandshake(peer net.Conn, config *tls.Config, server bool) (*tls.Conn, <-chan error) {
	tc := tls.Client(peer, config)
	if server {
		tc = tls.Server(peer, config)
	}
	res := make(chan error, 1)
	go func() {
		peer.SetDeadline(time.Now().Add(waitTimeout))
		err := tc.Handshake()
		peer.SetDeadline(time.Time{})
		res <- err
	}()
	return tc, res
}

// tlsWait returns what res gives, failing the test after waitTimeout.
func tlsWait(t *testing.T, what string, res <-chan error) error {
	t.Helper()
	select {
	case err := <-res:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("%s: no result within %v", what, waitTimeout)
		return nil
	}
}

// tlsUpgradedRoundTrip checks that tr and its TLS peer talk both ways
// and that tr's events hold no second Made.
func tlsUpgradedRoundTrip(t *testing.T, tr transport.Transport, ch <-chan stream.Event, peer net.Conn) {
	t.Helper()
	if v, ok := tr.ExtraInfo(transport.InfoCipher); !ok || v.(transport.CipherInfo).Version != "TLS 1.3" {
		t.Errorf(`after StartTLS, ExtraInfo("cipher") = %v, %v; want TLS 1.3`, v, ok)
	}
	tlsWrite(t, tr, "secret")
	if got := tlsPeerRead(t, peer, 6); got != "secret" {
		t.Fatalf("peer read %q, want secret", got)
	}
	tlsWrite(t, peer, "reply")
	if got := tlsData(t, ch, 5); got != "reply" {
		t.Fatalf("read %q, want reply", got)
	}
}

// TestTL1_SF2_StartTLSWithNetConnPeer: a plain transport and a plain
// net.Conn both upgrade, on either side of the handshake, with the
// events claimed before or after; the stream goes on with one Made.
func TestTL1_SF2_StartTLSWithNetConnPeer(t *testing.T) {
	for _, serverSide := range []bool{false, true} {
		for _, claimed := range []bool{true, false} {
			t.Run(fmt.Sprintf("server_side=%v/claimed=%v", serverSide, claimed), func(t *testing.T) {
				_, server, client := tlsCerts(t)
				client.ServerName = "localhost"
				p := dialedPair(t, "tcp")
				tr := p.Transport
				var ch <-chan stream.Event
				if claimed {
					ch = tr.Events()
					tlsMade(t, ch)
					tlsWrite(t, p.Peer, "STARTTLS\n")
					if got := tlsData(t, ch, 9); got != "STARTTLS\n" {
						t.Fatalf("read %q", got)
					}
				}
				mine, peerCfg, opts := client, server, []transport.Option(nil)
				if serverSide {
					mine, peerCfg, opts = server, client, []transport.Option{transport.WithServerSide()}
				}
				tc, peerDone := tlsPeerHandshake(p.Peer, peerCfg, !serverSide)
				if err := tlsStart(tr, mine, opts...); err != nil {
					t.Fatalf("StartTLS: %v", err)
				}
				if err := tlsWait(t, "peer handshake", peerDone); err != nil {
					t.Fatalf("peer handshake: %v", err)
				}
				if !claimed {
					ch = tr.Events()
					tlsMade(t, ch)
				}
				tlsUpgradedRoundTrip(t, tr, ch, tc)
				if v, _ := tr.ExtraInfo(transport.InfoSSLContext); v != any(mine) {
					t.Errorf(`ExtraInfo("sslcontext") is not the config passed to StartTLS`)
				}
				tc.Close()
				for _, e := range tlsUntilLost(t, ch) {
					if e.Kind == stream.Made || e.Kind == stream.Lost && e.Err != nil {
						t.Errorf("at the end: %v, want EOF, Lost(nil) and no second Made", e)
					}
				}
			})
		}
	}
}

// TestTL1_SF2_StartTLSBetweenTransports: both ends are transports that
// upgrade at once; then they talk, and a Close ends both cleanly.
func TestTL1_SF2_StartTLSBetweenTransports(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	srv := listen(t, "tcp")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cli, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer cli.Abort()
	acc := accept(t, srv)
	cch, ach := cli.Events(), acc.Events()
	tlsMade(t, cch)
	tlsMade(t, ach)
	accDone := tlsStartAsync(acc, server, transport.WithServerSide())
	if err := tlsStart(cli, client); err != nil {
		t.Fatalf("client StartTLS: %v", err)
	}
	if err := tlsWait(t, "server StartTLS", accDone); err != nil {
		t.Fatalf("server StartTLS: %v", err)
	}
	tlsWrite(t, cli, "hello")
	if got := tlsData(t, ach, 5); got != "hello" {
		t.Fatalf("server read %q", got)
	}
	tlsWrite(t, acc, "world")
	if got := tlsData(t, cch, 5); got != "world" {
		t.Fatalf("client read %q", got)
	}
	cli.Close()
	if evs := tlsUntilLost(t, ach); len(evs) != 2 || evs[0].Kind != stream.EOF || evs[1].Err != nil {
		t.Errorf("server: %v, want EOF, Lost(nil)", evs)
	}
	if evs := tlsUntilLost(t, cch); len(evs) != 1 || evs[0].Err != nil {
		t.Errorf("client: %v, want Lost(nil)", evs)
	}
}

// tlsNotStream is a datagram endpoint dressed as a Transport, the only
// way to hand one to StartTLS.
type tlsNotStream struct{ transport.DatagramTransport }

func (tlsNotStream) Write([]byte) (int, error)            { return 0, errors.ErrUnsupported }
func (tlsNotStream) WriteBuffers([][]byte) (int64, error) { return 0, errors.ErrUnsupported }
func (tlsNotStream) WriteEOF() error                      { return errors.ErrUnsupported }
func (tlsNotStream) CanWriteEOF() bool                    { return false }
func (tlsNotStream) ConnectionState() (tls.ConnectionState, bool) {
	return tls.ConnectionState{}, false
}

// TestTL1_SF1_StartTLSNotUpgradable: a datagram endpoint, a pipe and a
// transport that already speaks TLS are refused and left as they were.
func TestTL1_SF1_StartTLSNotUpgradable(t *testing.T) {
	_, server, client := tlsCerts(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	t.Run("udp", func(t *testing.T) {
		dg, err := transport.ListenPacket(ctx, "udp", "127.0.0.1:0")
		if err != nil {
			t.Skipf("ListenPacket: %v", err)
		}
		defer dg.Abort()
		tr, ok := dg.(transport.Transport)
		if !ok {
			tr = tlsNotStream{dg}
		}
		if err := transport.StartTLS(ctx, tr, client); !errors.Is(err, transport.ErrNotUpgradable) {
			t.Errorf("StartTLS: %v, want ErrNotUpgradable", err)
		}
		if dg.IsClosing() {
			t.Errorf("the endpoint is closing")
		}
	})
	t.Run("pipe", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		rp, err := transport.ReadPipe(r)
		if err != nil {
			r.Close()
			t.Skipf("ReadPipe: %v", err)
		}
		defer rp.Abort()
		tr, ok := rp.(transport.Transport)
		if !ok {
			t.Skipf("a read pipe transport is not a Transport: StartTLS cannot be called with it")
		}
		if err := transport.StartTLS(ctx, tr, client); !errors.Is(err, transport.ErrNotUpgradable) {
			t.Errorf("StartTLS: %v, want ErrNotUpgradable", err)
		}
		if rp.IsClosing() {
			t.Errorf("the pipe is closing")
		}
	})
	t.Run("already_tls", func(t *testing.T) {
		addr, peers := tlsServePeer(t, server)
		tr := tlsDial(t, addr, client)
		peer := tlsPeerOf(t, peers)
		if err := transport.StartTLS(ctx, tr, client); !errors.Is(err, transport.ErrNotUpgradable) {
			t.Errorf("StartTLS: %v, want ErrNotUpgradable", err)
		}
		ch := tr.Events()
		tlsMade(t, ch)
		tlsUpgradedRoundTrip(t, tr, ch, peer)
	})
}

// TestTL1_ER1_StartTLSRefusals: a nil config, a bad option, a closing
// transport, one whose peer sent EOF and one after WriteEOF are refused;
// an open transport is left working.
func TestTL1_ER1_StartTLSRefusals(t *testing.T) {
	_, _, client := tlsCerts(t)
	client.ServerName = "localhost"
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	t.Run("bad_arguments", func(t *testing.T) {
		p := dialedPair(t, "tcp")
		if err := transport.StartTLS(ctx, p.Transport, nil); !errors.Is(err, transport.ErrNilTLSConfig) {
			t.Errorf("StartTLS(nil): %v, want ErrNilTLSConfig", err)
		}
		for _, opt := range []transport.Option{transport.WithHandshakeTimeout(0), transport.WithShutdownTimeout(-time.Second)} {
			if err := transport.StartTLS(ctx, p.Transport, client, opt); err == nil {
				t.Errorf("StartTLS with a non-positive timeout succeeded")
			}
		}
		ch := p.Transport.Events()
		tlsMade(t, ch)
		roundTrip(t, p.Transport, ch, p.Peer)
	})
	t.Run("closing", func(t *testing.T) {
		p := dialedPair(t, "tcp")
		p.Transport.Close()
		if err := transport.StartTLS(ctx, p.Transport, client); !errors.Is(err, net.ErrClosed) {
			t.Errorf("StartTLS on a closed transport: %v, want net.ErrClosed", err)
		}
	})
	t.Run("after_peer_eof", func(t *testing.T) {
		p := dialedPair(t, "tcp", transport.WithHalfClose())
		ch := p.Transport.Events()
		tlsMade(t, ch)
		p.Peer.(*net.TCPConn).CloseWrite()
		if e := nextEvent(t, ch); e.Kind != stream.EOF {
			t.Fatalf("got %v, want EOF", e)
		}
		if err := transport.StartTLS(ctx, p.Transport, client); !errors.Is(err, transport.ErrNotUpgradable) {
			t.Errorf("StartTLS after EOF: %v, want ErrNotUpgradable", err)
		}
		tlsWrite(t, p.Transport, "plain")
		if got := tlsPeerRead(t, p.Peer, 5); got != "plain" {
			t.Errorf("peer read %q, want plain", got)
		}
	})
	t.Run("after_write_eof", func(t *testing.T) {
		p := dialedPair(t, "tcp")
		if err := p.Transport.WriteEOF(); err != nil {
			t.Fatalf("WriteEOF: %v", err)
		}
		if err := transport.StartTLS(ctx, p.Transport, client); !errors.Is(err, transport.ErrEOFWritten) {
			t.Errorf("StartTLS after WriteEOF: %v, want ErrEOFWritten", err)
		}
		if p.Transport.IsClosing() {
			t.Errorf("the transport is closing")
		}
	})
}

// TestTL1_SF3_StartTLSFailureClosesTransport: a failed, timed-out or
// cancelled handshake is StartTLS's error, and the transport ends with
// it as Lost's, whether the events were claimed or not.
func TestTL1_SF3_StartTLSFailureClosesTransport(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	other, untrusted, _ := tlsCerts(t)
	untrusting := &tls.Config{RootCAs: other.Pool, ServerName: "localhost"}
	tests := []struct {
		name       string
		serverSide bool // the transport runs the server side
		opts       []transport.Option
		// peer plays its part over the plain connection; cancel cancels
		// StartTLS's ctx.
		peer func(t *testing.T, c net.Conn, cancel func())
		want func(error) bool
	}{
		{"untrusted", false, nil, func(t *testing.T, c net.Conn, _ func()) {
			tlsPeerHandshake(c, untrusted, true)
		}, func(err error) bool {
			var cve *tls.CertificateVerificationError
			return errors.As(err, &cve)
		}},
		{"peer_rejects", true, nil, func(t *testing.T, c net.Conn, _ func()) {
			tlsPeerHandshake(c, untrusting, false)
		}, func(err error) bool { return err != nil }},
		{"timeout", false, []transport.Option{transport.WithHandshakeTimeout(tlsShort)}, func(*testing.T, net.Conn, func()) {},
			func(err error) bool { return errors.Is(err, transport.ErrHandshakeTimeout) }},
		{"cancel", false, nil, func(t *testing.T, c net.Conn, cancel func()) {
			tlsPeerRead(t, c, 1) // the ClientHello: the handshake runs
			cancel()
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tt := range tests {
		for _, claimed := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/claimed=%v", tt.name, claimed), func(t *testing.T) {
				p := dialedPair(t, "tcp")
				tr := p.Transport
				var ch <-chan stream.Event
				if claimed {
					ch = tr.Events()
					tlsMade(t, ch)
				}
				mine, opts := client, tt.opts
				if tt.serverSide {
					mine, opts = server, append(opts, transport.WithServerSide())
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				res := make(chan error, 1)
				go func() {
					err := transport.StartTLS(ctx, tr, mine, opts...)
					res <- err
				}()
				tt.peer(t, p.Peer, cancel)
				err := tlsWait(t, "StartTLS", res)
				if !tt.want(err) {
					t.Fatalf("StartTLS: %v (%T), not the expected error", err, err)
				}
				if !tr.IsClosing() {
					t.Errorf("IsClosing false after a failed StartTLS")
				}
				if !claimed {
					ch = tr.Events()
					tlsMade(t, ch)
				}
				if e := waitLost(t, ch); !tt.want(e.Err) || !errors.Is(e.Err, err) {
					t.Errorf("Lost(%v), want StartTLS's error %v", e.Err, err)
				}
				expectPeerEnd(t, p.Peer)
			})
		}
	}
}

// tlsHelloGate is the socket under a crypto/tls server peer: its first
// read takes the ClientHello, says so, and returns only once released.
type tlsHelloGate struct {
	net.Conn
	hello, release chan struct{}
	first          bool
}

// Read implements net.Conn.
func (g *tlsHelloGate) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if !g.first {
		g.first = true
		close(g.hello)
		<-g.release
	}
	return n, err
}

// TestTL1_SF2_StartTLSLosesNoByte: what was in flight when StartTLS was
// called is neither lost nor reordered: the peer's ClientHello already
// read but not taken, plain writes still buffered, and writes made while
// the handshake runs.
func TestTL1_SF2_StartTLSLosesNoByte(t *testing.T) {
	t.Run("client_hello_queued", func(t *testing.T) { tlsHelloQueued(t, false) })
	t.Run("client_hello_split_queue_full", func(t *testing.T) { tlsHelloQueued(t, true) })
	t.Run("plain_writes_buffered", tlsPlainBuffered)
	t.Run("writes_during_handshake", tlsWritesDuringHandshake)
}

// tlsDribble is the socket under a crypto/tls client: it writes the
// ClientHello in small pieces, each once the one before is an event in
// ch, until ch is full; then it closes full and writes the rest at once,
// which the transport's read goroutine holds or the kernel keeps.
type tlsDribble struct {
	net.Conn
	ch    <-chan stream.Event
	full  chan struct{} // closed once ch is full
	hello bool
}

// Write implements net.Conn.
func (d *tlsDribble) Write(p []byte) (int, error) {
	if d.hello {
		return d.Conn.Write(p)
	}
	d.hello = true
	n, err := d.dribble(p)
	close(d.full)
	if err != nil {
		return n, err
	}
	m, err := d.Conn.Write(p[n:])
	return n + m, err
}

// dribble writes pieces of p until ch is full and returns how many bytes
// it wrote.
func (d *tlsDribble) dribble(p []byte) (int, error) {
	tick := time.NewTicker(time.Millisecond) // polls the channel's length: no event says it grew
	defer tick.Stop()
	n := 0
	for n < len(p) && len(d.ch) < cap(d.ch) {
		k, queued := min(len(p)-n, 32), len(d.ch)
		if _, err := d.Conn.Write(p[n : n+k]); err != nil {
			return n, err
		}
		n += k
		deadline := time.Now().Add(waitTimeout)
		for len(d.ch) == queued {
			if time.Now().After(deadline) {
				return n, fmt.Errorf("a piece of the ClientHello never became an event")
			}
			<-tick.C
		}
	}
	return n, nil
}

// tlsHelloQueued: the peer sends "STARTTLS\n", which the consumer takes,
// then its ClientHello at once, which waits in the event channel (filling
// it when split) until the consumer calls StartTLS.
func tlsHelloQueued(t *testing.T, split bool) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	p := dialedPair(t, "tcp")
	tr := p.Transport
	ch := tr.Events()
	tlsMade(t, ch)
	tlsWrite(t, p.Peer, "STARTTLS\n")
	if got := tlsData(t, ch, 9); got != "STARTTLS\n" {
		t.Fatalf("read %q", got)
	}
	var peerSock net.Conn = p.Peer
	dribble := &tlsDribble{Conn: p.Peer, ch: ch, full: make(chan struct{})}
	if split {
		peerSock = dribble
	}
	tc, peerDone := tlsPeerHandshake(peerSock, client, false)
	if split {
		select {
		case <-dribble.full:
		case <-time.After(waitTimeout):
			t.Fatalf("the event channel never filled")
		}
	} else {
		waitUntil(t, "the ClientHello in the event channel", func() bool { return len(ch) > 0 })
	}
	if err := tlsStart(tr, server, transport.WithServerSide()); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := tlsWait(t, "peer handshake", peerDone); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	tlsUpgradedRoundTrip(t, tr, ch, tc)
}

// tlsPlainBuffered: plain bytes still in the write buffer when StartTLS
// is called go out first, then the handshake.
func tlsPlainBuffered(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	p := dialedPair(t, "tcp")
	tr := p.Transport
	ch := tr.Events()
	tlsMade(t, ch)
	const size = 16 << 20 // more than the kernel's buffers hold
	tlsWrite(t, tr, string(patternAt(0, size)))
	if tr.WriteBufferSize() == 0 {
		t.Fatalf("the kernel took %d bytes: nothing is left buffered to test with", size)
	}
	started := tlsStartAsync(tr, client)
	read := make(chan error, 1)
	go func() { read <- tlsCheckPlain(p.Peer, size) }()
	if err := tlsWait(t, "peer read", read); err != nil {
		t.Fatal(err)
	}
	tc, peerDone := tlsPeerHandshake(p.Peer, server, true)
	if err := tlsWait(t, "peer handshake", peerDone); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	if err := tlsWait(t, "StartTLS", started); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	tlsUpgradedRoundTrip(t, tr, ch, tc)
}

// tlsCheckPlain reads n plain bytes at c and checks they are patternAt's.
func tlsCheckPlain(c net.Conn, n int) error {
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 64<<10)
	for off := 0; off < n; {
		m, err := c.Read(buf[:min(len(buf), n-off)])
		if string(buf[:m]) != string(patternAt(int64(off), m)) {
			return fmt.Errorf("plain bytes %d..%d are not the ones written", off, off+m)
		}
		if off += m; err != nil && off < n {
			return fmt.Errorf("peer read: %v after %d of %d plain bytes", err, off, n)
		}
	}
	return nil
}

// tlsWritesDuringHandshake: writes from another goroutine while the
// handshake waits for the peer return at once and arrive encrypted, in
// order, after it.
func tlsWritesDuringHandshake(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	p := dialedPair(t, "tcp")
	tr := p.Transport
	ch := tr.Events()
	tlsMade(t, ch)
	gate := &tlsHelloGate{Conn: p.Peer, hello: make(chan struct{}), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(gate.release)
		}
	}
	defer release()
	tc, peerDone := tlsPeerHandshake(gate, server, true)
	started := tlsStartAsync(tr, client)
	select {
	case <-gate.hello: // StartTLS is waiting for the ServerHello
	case <-time.After(waitTimeout):
		t.Fatalf("no ClientHello")
	}
	const n = 100
	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "w%03d", i)
	}
	wrote := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := fmt.Fprintf(tr, "w%03d", i); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	if err := tlsWait(t, "writes during the handshake", wrote); err != nil {
		t.Fatalf("Write during the handshake: %v", err)
	}
	release()
	if err := tlsWait(t, "peer handshake", peerDone); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	if err := tlsWait(t, "StartTLS", started); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if got := tlsPeerRead(t, tc, want.Len()); got != want.String() {
		t.Fatalf("peer read %q, want %q", got, want.String())
	}
	tlsUpgradedRoundTrip(t, tr, ch, tc)
}

// TestTL1_SF2_StartTLSInterruptsWaitingRead: StartTLS on a transport
// whose read goroutine waits in a plain read (events claimed, nothing to
// read) interrupts that read and runs the handshake.
func TestTL1_SF2_StartTLSInterruptsWaitingRead(t *testing.T) {
	_, server, client := tlsCerts(t)
	client.ServerName = "localhost"
	p := dialedPair(t, "tcp")
	ch := p.Transport.Events()
	tlsMade(t, ch)
	tlsWrite(t, p.Peer, "x")
	tlsData(t, ch, 1) // the read goroutine then waits for more
	tc, peerDone := tlsPeerHandshake(p.Peer, server, true)
	if err := tlsStart(p.Transport, client); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := tlsWait(t, "peer handshake", peerDone); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	tlsUpgradedRoundTrip(t, p.Transport, ch, tc)
}
