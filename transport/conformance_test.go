package transport_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/transport"
)

// pairKinds are the transports the conformance suite runs against: TCP and
// Unix stream sockets, each made by Dial and by a Server's Accept.
var pairKinds = []struct {
	name     string
	network  string
	accepted bool
	adopted  bool // adopted with FromConn from a dialed net.Conn
}{
	{name: "tcp", network: "tcp"},
	{name: "tcp_accepted", network: "tcp", accepted: true},
	{name: "unix", network: "unix"},
	{name: "unix_accepted", network: "unix", accepted: true},
	{name: "tcp_adopted", network: "tcp", adopted: true},
	{name: "unix_adopted", network: "unix", adopted: true},
}

func TestConformance(t *testing.T) {
	for _, kind := range pairKinds {
		t.Run(kind.name, func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T, opts ...transport.Option) transporttest.Pair {
				switch {
				case kind.accepted:
					return acceptedPair(t, kind.network, opts...)
				case kind.adopted:
					return adoptedPair(t, kind.network, opts...)
				}
				return dialedPair(t, kind.network, opts...)
			})
		})
	}
}

// TestConformanceCoversEveryCode checks that the suite has a test for every
// guarantee a stream transport owes (CC2 and ER2 belong to the adapter).
func TestConformanceCoversEveryCode(t *testing.T) {
	codes := transporttest.Codes()
	for _, want := range strings.Fields("LC1 LC2 LC3 LC4 LC5 RD1 RD2 RD3 RD4 WR1 WR2 WR3 WR4 WR5 WR6 WR7 CC1 ER1 X1 X3") {
		if !slices.Contains(codes, want) {
			t.Errorf("no conformance test for %s", want)
		}
	}
}

// listenAddr returns an address to listen on: 127.0.0.1:0, or a socket
// in a fresh temporary directory.
func listenAddr(t *testing.T, network string) string {
	if network == "unix" {
		return filepath.Join(t.TempDir(), "s")
	}
	return "127.0.0.1:0"
}

// dialedPair dials a transport to a plain listener; the peer is the
// accepted net.Conn.
func dialedPair(t *testing.T, network string, opts ...transport.Option) transporttest.Pair {
	t.Helper()
	ln, err := net.Listen(network, listenAddr(t, network))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	tr, err := transport.Dial(context.Background(), network, ln.Addr().String(), opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(tr.Abort)
	peer, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { peer.Close() })
	return transporttest.Pair{Transport: tr, Peer: peer}
}

// acceptedPair accepts a transport from a Server; the peer is a dialed
// net.Conn.
func acceptedPair(t *testing.T, network string, opts ...transport.Option) transporttest.Pair {
	t.Helper()
	srv, err := transport.Listen(context.Background(), network, listenAddr(t, network), opts...)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	peer, err := net.Dial(network, srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { peer.Close() })
	tr, err := srv.Accept(context.Background())
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(tr.Abort)
	return transporttest.Pair{Transport: tr, Peer: peer}
}
