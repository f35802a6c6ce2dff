package transport_test

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/transport"
)

// confTLSKind is a TLS transport the conformance suite runs against: made by
// DialTLS (the peer is a crypto/tls server) or accepted from ListenTLS
// (the peer is a crypto/tls client), the peer capping the version.
type confTLSKind struct {
	name       string
	network    string
	accepted   bool
	maxVersion uint16
}

var confTLSKinds = []confTLSKind{
	{name: "tls13", network: "tcp", maxVersion: tls.VersionTLS13},
	{name: "tls13_accepted", network: "tcp", accepted: true, maxVersion: tls.VersionTLS13},
	{name: "tls12", network: "tcp", maxVersion: tls.VersionTLS12},
	{name: "tls12_accepted", network: "tcp", accepted: true, maxVersion: tls.VersionTLS12},
	{name: "tls13_unix", network: "unix", maxVersion: tls.VersionTLS13},
	{name: "tls13_unix_accepted", network: "unix", accepted: true, maxVersion: tls.VersionTLS13},
}

// TestConformanceTLS runs the stream-transport conformance suite over
// TLS: the suite checks TLS's own ends (close_notify) where they differ.
func TestConformanceTLS(t *testing.T) {
	for _, kind := range confTLSKinds {
		t.Run(kind.name, func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T, opts ...transport.Option) transporttest.Pair {
				if kind.accepted {
					return confTLSAcceptedPair(t, kind, opts...)
				}
				return confTLSDialedPair(t, kind, opts...)
			})
		})
	}
}

// confCA is the test binary's certificate authority, made once.
var confCA = sync.OnceValues(certs.NewCA)

// confTLSConfigs returns a server config and a client config that trusts it,
// both capped at maxVersion. The client names "localhost", which a Unix
// socket's path does not.
func confTLSConfigs(t *testing.T, maxVersion uint16) (server, client *tls.Config) {
	t.Helper()
	ca, err := confCA()
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	server, client, err = ca.Localhost()
	if err != nil {
		t.Fatalf("Localhost: %v", err)
	}
	server.MaxVersion, client.MaxVersion = maxVersion, maxVersion
	client.ServerName = "localhost"
	return server, client
}

// confHandshakeTimeout guards the peer's handshake.
const confHandshakeTimeout = 10 * time.Second

// confPeerHandshake runs the peer's handshake, bounded by confHandshakeTimeout.
func confPeerHandshake(c *tls.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), confHandshakeTimeout)
	defer cancel()
	return c.HandshakeContext(ctx)
}

// confTLSDialedPair dials a TLS transport to a plain listener whose accepted
// connection runs a crypto/tls server handshake: that is the peer.
func confTLSDialedPair(t *testing.T, kind confTLSKind, opts ...transport.Option) transporttest.Pair {
	t.Helper()
	serverCfg, clientCfg := confTLSConfigs(t, kind.maxVersion)
	clientCfg.MaxVersion = 0 // the transport offers what it can; the peer caps
	ln, err := net.Listen(kind.network, transporttest.LocalAddr(t, kind.network))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	type result struct {
		peer *tls.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		peer := tls.Server(raw, serverCfg)
		if err := confPeerHandshake(peer); err != nil {
			raw.Close()
			done <- result{err: err}
			return
		}
		done <- result{peer: peer}
	}()
	tr, dialErr := transport.DialTLS(context.Background(), kind.network, ln.Addr().String(), clientCfg, opts...)
	ln.Close() // ends a waiting Accept if DialTLS failed before connecting
	r := <-done
	if dialErr != nil {
		if r.peer != nil {
			r.peer.NetConn().Close()
		}
		t.Fatalf("DialTLS: %v", dialErr)
	}
	t.Cleanup(tr.Abort)
	if r.err != nil {
		t.Fatalf("peer handshake: %v", r.err)
	}
	t.Cleanup(func() { r.peer.NetConn().Close() })
	return transporttest.Pair{Transport: tr, Peer: r.peer}
}

// confTLSAcceptedPair accepts a transport from a ListenTLS server; the peer
// is a crypto/tls client.
func confTLSAcceptedPair(t *testing.T, kind confTLSKind, opts ...transport.Option) transporttest.Pair {
	t.Helper()
	serverCfg, clientCfg := confTLSConfigs(t, kind.maxVersion)
	serverCfg.MaxVersion = 0 // the transport offers what it can; the peer caps
	srv, err := transport.ListenTLS(context.Background(), kind.network, transporttest.LocalAddr(t, kind.network), serverCfg, opts...)
	if err != nil {
		t.Fatalf("ListenTLS: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	raw, err := net.Dial(kind.network, srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { raw.Close() })
	peer := tls.Client(raw, clientCfg)
	if err := confPeerHandshake(peer); err != nil {
		t.Fatalf("peer handshake: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), confHandshakeTimeout)
	defer cancel()
	tr, err := srv.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(tr.Abort)
	return transporttest.Pair{Transport: tr, Peer: peer}
}
