package transport_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// tlsSlots is the number of connections a ListenTLS server handshakes at
// once, each keeping its slot until it is handed out (tls_accept.go).
const tlsSlots = 128

// TestTL1_Defect4_UnacceptedHandshakesBounded: with nobody calling
// Accept, a ListenTLS server finishes at most tlsSlots handshakes and
// holds those connections; the kernel's backlog holds the rest, whose
// handshakes do not even start. Each Accept then lets exactly one more
// through, until every client is served.
//
// A client's handshake completes only once the server has sent its
// Finished, so the number of completed clients is what the server has
// handshaken: it must never exceed the accepted ones plus the slots.
func TestTL1_Defect4_UnacceptedHandshakesBounded(t *testing.T) {
	const n = tlsSlots + 32
	_, server, client := tlsCerts(t)
	srv := tlsListen(t, server)
	cfg := client.Clone()
	cfg.ServerName = "localhost"
	cfg.CurvePreferences = []tls.CurveID{tls.X25519} // cheaper than the hybrid default
	done := make(chan *tls.Conn, n)
	failed := make(chan error, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel() // ends the handshakes still waiting for the server
		wg.Wait()
		close(done)
		for c := range done {
			c.Close()
		}
	})
	for range n {
		wg.Go(func() {
			d := tls.Dialer{Config: cfg}
			c, err := d.DialContext(ctx, "tcp", srv.Addr().String())
			if err != nil {
				failed <- err
				return
			}
			done <- c.(*tls.Conn)
		})
	}
	var finished []*tls.Conn
	next := func(what string) {
		t.Helper()
		select {
		case c := <-done:
			finished = append(finished, c)
		case err := <-failed:
			t.Fatalf("%s: a client failed: %v", what, err)
		case <-time.After(waitTimeout):
			t.Fatalf("%s: no client handshake completed within %v (%d so far)", what, waitTimeout, len(finished))
		}
	}
	for range tlsSlots {
		next("before any Accept")
	}
	for accepted := 0; accepted < n; {
		select {
		case <-done:
			t.Fatalf("%d clients finished their handshake with %d accepted; want at most %d more than accepted",
				len(finished)+1, accepted, tlsSlots)
		default:
		}
		if open := srv.Stats().Open; open > accepted+tlsSlots {
			t.Fatalf("the server holds %d connections with %d accepted; want at most %d more", open, accepted, tlsSlots)
		}
		accept(t, srv)
		accepted++
		if len(finished) < n {
			next("after an Accept")
		}
	}
	if len(finished) != n {
		t.Fatalf("%d clients finished, want %d", len(finished), n)
	}
}

// TestTL1_Defect5_SilentPeersDoNotStarveHandshakes: 200 connections that
// send nothing (more than the handshake slots) do not keep a real client
// from connecting: its handshake completes and data echoes, with no
// timeout passing. Over TCP on Linux the kernel holds the silent ones
// (TCP_DEFER_ACCEPT); over a Unix socket the server accepts them and
// closes the longest silent to make room.
func TestTL1_Defect5_SilentPeersDoNotStarveHandshakes(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		_, server, client := tlsCerts(t)
		srv := tlsListenOn(t, network, server)
		for range 200 {
			dial(t, srv)
		}
		tlsServesClient(t, srv, client)
	})
}

// tlsEcho has the peer send msg, the transport echo it, and the peer read
// it back.
func tlsEcho(t *testing.T, tr transport.Transport, ch <-chan stream.Event, peer net.Conn, msg string) {
	t.Helper()
	tlsWrite(t, peer, msg)
	tlsWrite(t, tr, tlsData(t, ch, len(msg)))
	if got := tlsPeerRead(t, peer, len(msg)); got != msg {
		t.Fatalf("echo: peer read %q, want %q", got, msg)
	}
}

// TestTL1_ListenTLSHelloTimeout: a connection that sends nothing within
// the hello timeout is closed and reported with ErrHelloTimeout (which
// matches ErrHandshakeTimeout); the server goes on. Over TCP on Linux the
// kernel holds it first, about as long.
func TestTL1_ListenTLSHelloTimeout(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		_, server, client := tlsCerts(t)
		hook, failures := tlsFailures()
		srv := tlsListenOn(t, network, server, hook, transport.WithHelloTimeout(tlsShort))
		silent := dial(t, srv)
		f := tlsNextFailure(t, failures)
		if !errors.Is(f.err, transport.ErrHelloTimeout) || !errors.Is(f.err, transport.ErrHandshakeTimeout) {
			t.Errorf("hook got %v, want ErrHelloTimeout", f.err)
		}
		expectPeerEnd(t, silent)
		tlsServesClient(t, srv, client)
		if n := srv.Stats().HandshakeFailures; n != 1 {
			t.Errorf("HandshakeFailures = %d, want 1", n)
		}
	})
}

// TestTL1_ListenTLSDisplacesLongestSilent: when the server holds as many
// silent connections as it keeps, the next one closes the one silent
// longest, reported with ErrHelloDisplaced. Over a Unix socket (the
// kernel holds nothing back) with no timeout passing.
func TestTL1_ListenTLSDisplacesLongestSilent(t *testing.T) {
	_, server, client := tlsCerts(t)
	hook, failures := tlsFailures()
	srv := tlsListenOn(t, "unix", server, hook)
	first := dial(t, srv)
	for range tlsSlots { // the silent set holds as many
		dial(t, srv)
	}
	if f := tlsNextFailure(t, failures); !errors.Is(f.err, transport.ErrHelloDisplaced) {
		t.Errorf("hook got %v, want ErrHelloDisplaced", f.err)
	}
	expectPeerEnd(t, first)
	tlsServesClient(t, srv, client)
}

// tlsListenOn starts a ListenTLS server on network ("tcp" on 127.0.0.1,
// or "unix") and closes it when the test ends.
func tlsListenOn(t *testing.T, network string, config *tls.Config, opts ...transport.Option) *transport.Server {
	t.Helper()
	srv, err := transport.ListenTLS(context.Background(), network, listenAddr(t, network), config, opts...)
	if err != nil {
		t.Fatalf("ListenTLS: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// tlsServesClient checks that srv, on any network, hands out a working
// transport to a client trusting it: the handshake completes, the
// transport echoes.
func tlsServesClient(t *testing.T, srv *transport.Server, client *tls.Config) {
	t.Helper()
	raw := dial(t, srv)
	cfg := client.Clone()
	cfg.ServerName = "localhost"
	peer := tls.Client(raw, cfg)
	raw.SetDeadline(time.Now().Add(waitTimeout))
	if err := peer.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	tr := accept(t, srv)
	ch := tr.Events()
	tlsMade(t, ch)
	tlsEcho(t, tr, ch, peer, "ping")
}
