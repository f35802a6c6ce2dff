// Package transporttest is rxnet's conformance suite for stream
// transports: it checks DESIGN.md's guarantees (LC, RD, WR, CC1, ER1) and
// the asyncio rules they follow, and the typed accessors (LocalAddr,
// RemoteAddr, ConnectionState: X1–X3), against one transport kind, given
// a function that makes a connected pair.
//
// Each guarantee is a subtest named after its code, optionally followed by
// the asyncio rule it checks, so that
//
//	go test -run 'Conformance/tcp/WR4' ./transport/
//
// runs the WR4 tests for TCP ('ConformanceTLS/tls13/WR4' over TLS 1.3).
// The suite waits on events, never on sleeps: every timeout is a failure
// guard only.
//
// Tests in this package must not run in parallel with other tests of the
// same binary: LC5 counts goroutines.
package transporttest

import (
	"net"
	"strings"
	"testing"

	"github.com/rxnet/rxnet/transport"
)

// Pair is a connected transport and the connection at the other end.
type Pair struct {
	// Transport is the transport under test. Its events are not claimed
	// yet.
	Transport transport.Transport
	// Peer is the other end of the connection: a *net.TCPConn or a
	// *net.UnixConn the suite reads and writes directly, or a *tls.Conn
	// over one, its handshake done, when the transport speaks TLS. The
	// suite then checks TLS's ends (DESIGN.md TL1): EOF is the peer's
	// close_notify, Close waits for the peer's answer to its own, a
	// reset goes through the socket under Peer, and half-closing needs
	// TLS 1.3 (the version Peer negotiated says which).
	Peer net.Conn
}

// NewPair makes a connected pair whose transport is made with opts. It
// fails the test on error and registers cleanups that abort the transport
// and close the peer (and whatever else it made).
type NewPair func(t *testing.T, opts ...transport.Option) Pair

// test is one conformance test: its name starts with a guarantee code.
type test struct {
	name string
	fn   func(t *testing.T, newPair NewPair)
}

// Run runs the conformance suite, each guarantee as a subtest named after
// its code, against the pairs newPair makes.
func Run(t *testing.T, newPair NewPair) {
	for _, group := range [][]test{lifecycleTests, readingTests, writingTests, flowTests, drainTests, concurrencyTests, errorTests, accessorTests} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, newPair) })
		}
	}
}

// Codes returns the names of the suite's tests, for checks that every
// guarantee is covered.
func Codes() []string {
	var names []string
	for _, group := range [][]test{lifecycleTests, readingTests, writingTests, flowTests, drainTests, concurrencyTests, errorTests, accessorTests} {
		for _, tc := range group {
			code, _, _ := strings.Cut(tc.name, "_")
			names = append(names, code)
		}
	}
	return names
}
