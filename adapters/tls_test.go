package adapters_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/transport"
)

// The Protocol adapter over TLS (DESIGN TL1): Connect with WithTLS, Serve
// on a ListenTLS server, StartTLS from inside a callback, and asyncio's
// SSL rules R9-R11, T4 and SF2-SF3 as rxnet decides them.

// tlsConfigs makes a new CA and returns a server config with a
// certificate for localhost and 127.0.0.1, and a client config that
// trusts that CA only.
func tlsConfigs(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	ca, err := certs.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	server, client, err = ca.Localhost()
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// tweak returns a copy of cfg changed by f.
func tweak(cfg *tls.Config, f func(*tls.Config)) *tls.Config {
	c := cfg.Clone()
	f(c)
	return c
}

// named returns a copy of a client cfg naming the server localhost, for
// the handshakes that do not take the name from an address.
func named(cfg *tls.Config) *tls.Config {
	return tweak(cfg, func(c *tls.Config) { c.ServerName = "localhost" })
}

// startServeTLS is startServe on a TLS server: Listen with WithTLS is
// ListenTLS.
func startServeTLS[P adapters.StreamProtocol](t *testing.T, config *tls.Config, factory func() P, opts ...transport.Option) *transport.Server {
	t.Helper()
	return startServe(t, factory, append(opts, transport.WithTLS(config))...)
}

// only returns a factory that returns r, then new recorders (a second
// connection is not expected).
func only(r *recorder) func() *recorder {
	var once atomic.Bool
	return func() *recorder {
		if !once.CompareAndSwap(false, true) {
			return newRecorder()
		}
		return r
	}
}

// connectTLS connects r to srv with adapters.Connect over TLS with
// config; the transport is aborted when the test ends.
func connectTLS(t *testing.T, srv *transport.Server, config *tls.Config, r *recorder) transport.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, _, err := adapters.Connect(ctx, "tcp", srv.Addr().String(), func() *recorder { return r }, transport.WithTLS(config))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// tlsPeer dials addr and runs a crypto/tls client handshake over it; it
// returns the TLS conn and the raw TCP conn under it.
func tlsPeer(t *testing.T, addr string, config *tls.Config) (*tls.Conn, *net.TCPConn) {
	t.Helper()
	raw := dialPeer(t, addr, 0)
	tc := tls.Client(raw, named(config))
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatalf("the peer's handshake: %v", err)
	}
	return tc, raw
}

// tlsVersion returns the TLS version tr negotiated, or "".
func tlsVersion(tr transport.BaseTransport) string {
	v, _ := tr.ExtraInfo(transport.InfoCipher)
	ci, _ := v.(transport.CipherInfo)
	return ci.Version
}

// waitReceived waits until r's DataReceived calls add up to want.
func waitReceived(t *testing.T, r *recorder, want string) {
	t.Helper()
	r.waitFor(t, "DataReceived "+want, func(tr []entry) bool { return string(received(tr)) == want })
}

// checkKinds fails the test unless tr is a well-formed trace (checkTrace)
// made of the callback kinds want, marks left out.
func checkKinds(t *testing.T, who string, tr []entry, want ...string) {
	t.Helper()
	if err := checkTrace(tr); err != nil {
		t.Errorf("%s: %v", who, err)
	}
	got := slices.DeleteFunc(slices.Clone(tr), isKind(cbMark))
	if !slices.EqualFunc(got, want, func(e entry, k string) bool { return e.kind == k }) {
		t.Errorf("%s: trace %v, want the callbacks %v", who, tr, want)
	}
}

// TestTL1_ProtocolOverTLS: a Protocol works unchanged over TLS, with
// Connect(WithTLS) on one side and Serve on a ListenTLS server on the
// other; the client's WriteEOF is a close_notify half-close (TLS 1.3),
// so both traces are CM DR ER CL(nil).
func TestTL1_ProtocolOverTLS(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	server := newRecorder()
	server.onData = func(b []byte) { server.transport().Write(b) }
	srv := startServeTLS(t, serverCfg, only(server))
	client := newRecorder()
	tr := connectTLS(t, srv, clientCfg, client)

	v, ok := tr.ExtraInfo(transport.InfoCipher)
	if ci, isCI := v.(transport.CipherInfo); !ok || !isCI || ci.Version != "TLS 1.3" || ci.Name == "" {
		t.Errorf(`client ExtraInfo("cipher") = %#v, %v; want TLS 1.3 and a suite`, v, ok)
	}
	v, ok = tr.ExtraInfo(transport.InfoPeercert)
	if leaf, isCert := v.(*x509.Certificate); !ok || !isCert || !slices.Contains(leaf.DNSNames, "localhost") {
		t.Errorf(`client ExtraInfo("peercert") = %v, %v; want the server's localhost certificate`, v, ok)
	}
	const msg = "hello over TLS"
	if _, err := tr.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	waitReceived(t, client, msg)
	if _, ok := server.transport().ExtraInfo(transport.InfoPeercert); ok {
		t.Error(`server ExtraInfo("peercert") ok with no client certificate`)
	}
	if !tr.CanWriteEOF() {
		t.Fatal("CanWriteEOF false under TLS 1.3")
	}
	if err := tr.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF: %v", err)
	}
	for who, r := range map[string]*recorder{"server": server, "client": client} {
		tr := r.waitLost(t)
		checkKinds(t, who, tr, cbMade, cbData, cbEOF, cbLost)
		if got := string(received(tr)); got != msg {
			t.Errorf("%s received %q, want %q", who, got, msg)
		}
		if err := lostErr(tr); err != nil {
			t.Errorf("%s: ConnectionLost(%v), want nil", who, err)
		}
	}
}

// TestTL1_T4_HandshakeFailureNeverReachesProtocol: a certificate the
// client does not accept makes Connect return the handshake's error; no
// callback of the client's protocol is called, and the server's side
// fails without handing the connection to Serve.
func TestTL1_T4_HandshakeFailureNeverReachesProtocol(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	_, strangerCfg := tlsConfigs(t) // trusts another CA
	tests := []struct {
		name   string
		cfg    *tls.Config
		target any // for errors.As
	}{
		{name: "untrusted CA", cfg: strangerCfg, target: new(x509.UnknownAuthorityError)},
		{
			name:   "wrong host",
			cfg:    tweak(clientCfg, func(c *tls.Config) { c.ServerName = "rxnet.invalid" }),
			target: new(x509.HostnameError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			failures := make(chan error, 1)
			var served atomic.Int32
			srv := startServeTLS(t, serverCfg, func() *recorder { served.Add(1); return newRecorder() },
				transport.WithHandshakeFailures(func(_ net.Addr, err error) { failures <- err }))
			ctx, cancel := context.WithTimeout(context.Background(), failAfter)
			defer cancel()
			var made []*recorder
			tr, p, err := adapters.Connect(ctx, "tcp", srv.Addr().String(), func() *recorder {
				made = append(made, newRecorder())
				return made[len(made)-1]
			}, transport.WithTLS(tt.cfg))
			var cve *tls.CertificateVerificationError
			if !errors.As(err, &cve) || !errors.As(err, tt.target) {
				t.Fatalf("Connect: %v; want the certificate verification error", err)
			}
			if tr != nil || p != nil {
				t.Fatalf("Connect returned %v, %v with its error", tr, p)
			}
			for _, r := range made {
				if tr := r.snapshot(); len(tr) != 0 {
					t.Fatalf("the protocol of a failed handshake was called: %v", tr)
				}
			}
			if err := waitErr(t, failures, "the server's handshake failure"); err == nil {
				t.Fatal("the server reported a nil handshake failure")
			}
			if n := served.Load(); n != 0 {
				t.Fatalf("Serve made %d protocols for a failed handshake", n)
			}
		})
	}
}

// TestTL1_ServerHandshakeFailureClosesOnlyThatConnection: connections
// whose server handshake fails (plain text, a client that rejects the
// certificate) are closed and never reach Serve's factory; an open
// connection keeps working and Serve serves the next one.
func TestTL1_ServerHandshakeFailureClosesOnlyThatConnection(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	_, strangerCfg := tlsConfigs(t)
	failures := make(chan error, 2)
	var made atomic.Int32
	srv := startServeTLS(t, serverCfg, func() *echoProto { made.Add(1); return &echoProto{} },
		transport.WithHandshakeFailures(func(_ net.Addr, err error) { failures <- err }))
	addr := srv.Addr().String()
	echo := func(c net.Conn, msg string) {
		t.Helper()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := string(readExactly(t, c, len(msg))); got != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
	}
	a, _ := tlsPeer(t, addr, clientCfg)
	echo(a, "before")

	plain := dialPeer(t, addr, 0)
	plain.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	var ne net.Error
	if res := waitResult(t, readUntilEnd(plain, 64, nil)); errors.As(res.err, &ne) && ne.Timeout() {
		t.Fatalf("the plain-text peer read %q, %v; want the connection closed", res.data, res.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	stranger := tls.Client(dialPeer(t, addr, 0), named(strangerCfg))
	if err := stranger.HandshakeContext(ctx); err == nil {
		t.Fatal("a client that does not trust the CA completed its handshake")
	}
	for i := range 2 {
		if err := waitErr(t, failures, "a handshake failure"); err == nil {
			t.Fatalf("handshake failure %d reported as nil", i+1)
		}
	}

	echo(a, "after")
	b, _ := tlsPeer(t, addr, clientCfg)
	echo(b, "next")
	if n := made.Load(); n != 2 {
		t.Errorf("the factory was called %d times, want 2 (the good connections)", n)
	}
	if n := srv.Stats().HandshakeFailures; n != 2 {
		t.Errorf("Stats().HandshakeFailures = %d, want 2", n)
	}
}

// lineThen returns a DataReceived hook that collects bytes until they
// are exactly line, calls then once, and passes later data to after.
func lineThen(line string, then func(), after func([]byte)) func([]byte) {
	var got []byte
	done := false
	return func(b []byte) {
		if done {
			after(b)
			return
		}
		got = append(got, b...) // b is borrowed
		if string(got) == line {
			done = true
			then()
		}
	}
}

// TestTL1_SF2_StartTLSInsideServerCallback: a server Protocol answers
// "STARTTLS\n" with "OK\n" and calls StartTLS from inside DataReceived;
// the plain client reads OK, runs its handshake, and the protocol's later
// DataReceived get the plaintext, with ConnectionMade called once.
func TestTL1_SF2_StartTLSInsideServerCallback(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	r := newRecorder()
	upgraded := make(chan error, 1)
	r.onData = lineThen("STARTTLS\n", func() {
		tr := r.transport()
		tr.Write([]byte("OK\n")) // plain: written before StartTLS
		err := transport.StartTLS(ctx, tr, serverCfg, transport.WithServerSide())
		upgraded <- err
	}, func(b []byte) { r.transport().Write(b) })
	_, peer := serveOne(t, r)

	peer.Write([]byte("STARTTLS\n"))
	if got := string(readExactly(t, peer, 3)); got != "OK\n" {
		t.Fatalf("the peer read %q, want OK", got)
	}
	tc := tls.Client(peer, named(clientCfg))
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatalf("the peer's handshake: %v", err)
	}
	if err := waitErr(t, upgraded, "StartTLS to return"); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	const secret = "secret over TLS"
	tc.Write([]byte(secret))
	if got := string(readExactly(t, tc, len(secret))); got != secret {
		t.Fatalf("the peer read %q back, want %q", got, secret)
	}
	if v := tlsVersion(r.transport()); v == "" {
		t.Error(`no ExtraInfo("cipher") after StartTLS`)
	}
	tc.CloseWrite() // close_notify: EOFReceived returns false, the server closes
	if res := waitResult(t, readUntilEnd(tc, 64, nil)); res.err != io.EOF || len(res.data) != 0 {
		t.Errorf("the peer read %q, %v after its close_notify; want the server's close_notify (io.EOF)", res.data, res.err)
	}
	tr := r.waitLost(t)
	checkKinds(t, "server", tr, cbMade, cbData, cbData, cbEOF, cbLost)
	if got := string(received(tr)); got != "STARTTLS\n"+secret {
		t.Errorf("DataReceived got %q, want the plain line then the decrypted %q", got, secret)
	}
	if err := lostErr(tr); err != nil {
		t.Errorf("ConnectionLost(%v), want nil", err)
	}
}

// TestTL1_SF2_StartTLSInsideClientCallback: a client Protocol calls
// StartTLS from inside DataReceived when the server says GO; what it
// writes next is encrypted, and a close_notify ends it cleanly. SF3: a
// failed handshake is StartTLS's error and ConnectionLost's.
func TestTL1_SF2_StartTLSInsideClientCallback(t *testing.T) {
	serverCfg, clientCfg := tlsConfigs(t)
	strangerCfg, _ := tlsConfigs(t) // a certificate from another CA
	for _, tt := range []struct {
		name    string
		peerCfg *tls.Config
		ok      bool
	}{
		{name: "upgrades", peerCfg: serverCfg, ok: true},
		{name: "SF3 handshake fails", peerCfg: strangerCfg},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), failAfter)
			defer cancel()
			r := newRecorder()
			upgraded := make(chan error, 1)
			r.onData = lineThen("GO\n", func() {
				tr := r.transport()
				err := transport.StartTLS(ctx, tr, named(clientCfg))
				upgraded <- err
				if err == nil {
					tr.Write([]byte("ping"))
				}
			}, func([]byte) {})
			_, peer := connectOne(t, r)

			peer.Write([]byte("GO\n"))
			tc := tls.Server(peer, tt.peerCfg)
			herr := tc.HandshakeContext(ctx)
			err := waitErr(t, upgraded, "StartTLS to return")
			if !tt.ok {
				var cve *tls.CertificateVerificationError
				if !errors.As(err, &cve) {
					t.Fatalf("StartTLS: %v, want the certificate verification error", err)
				}
				tr := r.waitLost(t)
				checkKinds(t, "client", tr, cbMade, cbData, cbLost)
				if lost := lostErr(tr); !errors.As(lost, &cve) {
					t.Errorf("ConnectionLost(%v), want StartTLS's error", lost)
				}
				return
			}
			if herr != nil || err != nil {
				t.Fatalf("handshakes: peer %v, StartTLS %v", herr, err)
			}
			if got := string(readExactly(t, tc, 4)); got != "ping" {
				t.Fatalf("the peer read %q, want ping", got)
			}
			tc.Write([]byte("pong"))
			waitReceived(t, r, "GO\npong")
			tc.CloseWrite()
			if res := waitResult(t, readUntilEnd(tc, 64, nil)); res.err != io.EOF {
				t.Errorf("the peer's read ended with %v, want the client's close_notify (io.EOF)", res.err)
			}
			tr := r.waitLost(t)
			checkKinds(t, "client", tr, cbMade, cbData, cbData, cbEOF, cbLost)
			if err := lostErr(tr); err != nil {
				t.Errorf("ConnectionLost(%v), want nil", err)
			}
		})
	}
}
