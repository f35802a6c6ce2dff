package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// waitTimeout guards every wait in this package's tests.
const waitTimeout = 10 * time.Second

// networks runs f once per stream network, as a subtest named after it.
func networks(t *testing.T, f func(t *testing.T, network string)) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) { f(t, network) })
	}
}

// listen starts a Server and closes it when the test ends.
func listen(t *testing.T, network string, opts ...transport.Option) *transport.Server {
	t.Helper()
	srv, err := transport.Listen(context.Background(), network, listenAddr(t, network), opts...)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// dial connects a plain peer to the server and closes it when the test
// ends.
func dial(t *testing.T, srv *transport.Server) net.Conn {
	t.Helper()
	c, err := net.Dial(srv.Addr().Network(), srv.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// accept accepts a transport and aborts it when the test ends.
func accept(t *testing.T, srv *transport.Server) transport.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := srv.Accept(ctx)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// nextEvent returns the next event, failing the test after waitTimeout.
func nextEvent(t *testing.T, ch <-chan stream.Event) stream.Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatalf("event channel closed")
		}
		return e
	case <-time.After(waitTimeout):
		t.Fatalf("no event within %v", waitTimeout)
		return stream.Event{}
	}
}

// waitLost receives events until Lost and returns it.
func waitLost(t *testing.T, ch <-chan stream.Event) stream.Event {
	t.Helper()
	for {
		if e := nextEvent(t, ch); e.Kind == stream.Lost {
			return e
		}
	}
}

// expectPeerEnd reads from the peer until the connection ends (EOF or a
// reset), failing the test after waitTimeout.
func expectPeerEnd(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.Copy(io.Discard, c); err != nil && !errors.Is(err, net.ErrClosed) && !isResetErr(err) {
		t.Fatalf("peer: %v, want the connection to end", err)
	}
}

func isResetErr(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// roundTrip checks that a transport works both ways with its peer.
func roundTrip(t *testing.T, tr transport.Transport, ch <-chan stream.Event, peer net.Conn) {
	t.Helper()
	if _, err := tr.Write([]byte("ping")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	buf := make([]byte, 4)
	peer.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("peer read %q, %v; want ping", buf, err)
	}
	if _, err := peer.Write([]byte("pong")); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	var got []byte
	for len(got) < 4 {
		e := nextEvent(t, ch)
		if e.Kind != stream.Data {
			t.Fatalf("got %v, want Data", e)
		}
		got = append(got, e.Data...)
	}
	if string(got) != "pong" {
		t.Fatalf("transport read %q, want pong", got)
	}
}

func TestServerAccept(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		if srv.Addr().Network() != network {
			t.Fatalf("Addr().Network() = %q, want %q", srv.Addr().Network(), network)
		}
		for range 3 {
			peer := dial(t, srv)
			tr := accept(t, srv)
			if v, ok := tr.ExtraInfo(transport.InfoSockname); !ok || v.(net.Addr).String() != srv.Addr().String() {
				t.Errorf(`ExtraInfo("sockname") = %v, %v; want %v`, v, ok, srv.Addr())
			}
			ch := tr.Events()
			if e := nextEvent(t, ch); e.Kind != stream.Made {
				t.Fatalf("first event %v, want Made", e)
			}
			roundTrip(t, tr, ch, peer)
		}
	})
}

func TestServerAcceptCtx(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := srv.Accept(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("Accept with a cancelled ctx = %v, want context.Canceled", err)
		}
		expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel2()
		if _, err := srv.Accept(expired); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Accept with an expired ctx = %v, want context.DeadlineExceeded", err)
		}
		// ctx bounded the wait only: the server still accepts.
		peer := dial(t, srv)
		tr := accept(t, srv)
		ch := tr.Events()
		nextEvent(t, ch)
		roundTrip(t, tr, ch, peer)
	})
}

func TestServerClose(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		peer := dial(t, srv)
		tr := accept(t, srv)
		ch := tr.Events()
		nextEvent(t, ch)
		pending := dial(t, srv) // never accepted

		waiting := make(chan error, 1)
		go func() {
			_, err := srv.Accept(context.Background())
			if err == nil {
				// The pending connection: take the next Accept's result.
				_, err = srv.Accept(context.Background())
			}
			waiting <- err
		}()
		if err := srv.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case err := <-waiting:
			if !errors.Is(err, transport.ErrServerClosed) || !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept during Close = %v, want ErrServerClosed matching net.ErrClosed", err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("Accept still waits after Close")
		}
		if _, err := srv.Accept(context.Background()); !errors.Is(err, transport.ErrServerClosed) {
			t.Fatalf("Accept after Close = %v, want ErrServerClosed", err)
		}
		// Close aborts the accepted transports, and the unaccepted one.
		if lost := waitLost(t, ch); lost.Err != nil {
			t.Fatalf("accepted transport: Lost(%v) after Server.Close, want Lost(nil)", lost.Err)
		}
		if !tr.IsClosing() {
			t.Fatalf("accepted transport: IsClosing false after Server.Close")
		}
		expectPeerEnd(t, peer)
		expectPeerEnd(t, pending)
		// The listener is gone.
		if c, err := net.Dial(network, srv.Addr().String()); err == nil {
			c.Close()
			t.Fatalf("Dial after Close succeeded")
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

func TestServerShutdownIdle(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with nothing open: %v", err)
		}
		if _, err := srv.Accept(context.Background()); !errors.Is(err, transport.ErrServerClosed) {
			t.Fatalf("Accept after Shutdown = %v, want ErrServerClosed", err)
		}
		if c, err := net.Dial(network, srv.Addr().String()); err == nil {
			c.Close()
			t.Fatalf("Dial after Shutdown succeeded")
		}
	})
}

func TestServerShutdownWaitsForTransports(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(tr transport.Transport, peer net.Conn)
	}{
		{name: "Close", end: func(tr transport.Transport, peer net.Conn) { tr.Close() }},
		{name: "Abort", end: func(tr transport.Transport, peer net.Conn) { tr.Abort() }},
		// The transport closes itself after the peer's EOF.
		{name: "PeerEOF", end: func(tr transport.Transport, peer net.Conn) { peer.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			networks(t, func(t *testing.T, network string) {
				srv := listen(t, network)
				peer := dial(t, srv)
				tr := accept(t, srv)
				ch := tr.Events()
				nextEvent(t, ch)

				// While the transport is open, Shutdown waits for it until
				// its ctx expires, and leaves it open.
				expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
				defer cancel()
				if err := srv.Shutdown(expired); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Shutdown with an open transport and an expired ctx = %v, want context.DeadlineExceeded", err)
				}
				if tr.IsClosing() {
					t.Fatalf("Shutdown closed the transport")
				}
				roundTrip(t, tr, ch, peer)
				if c, err := net.Dial(network, srv.Addr().String()); err == nil {
					c.Close()
					t.Fatalf("Dial after Shutdown succeeded: the listener must close first")
				}

				done := make(chan error, 1)
				go func() { done <- srv.Shutdown(context.Background()) }()
				tc.end(tr, peer)
				waitLost(t, ch)
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("Shutdown after the transport closed = %v, want nil", err)
					}
				case <-time.After(waitTimeout):
					t.Fatalf("Shutdown still waits after the only transport closed")
				}
			})
		})
	}
}

func TestServerShutdownThenClose(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		srv := listen(t, network)
		peer := dial(t, srv)
		tr := accept(t, srv)
		ch := tr.Events()
		nextEvent(t, ch)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(ctx) }()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown with a cancelled ctx = %v, want context.Canceled", err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("Shutdown did not return when its ctx was cancelled")
		}
		// Close aborts what Shutdown left open.
		srv.Close()
		if lost := waitLost(t, ch); lost.Err != nil {
			t.Fatalf("Lost(%v) after Close, want Lost(nil)", lost.Err)
		}
		expectPeerEnd(t, peer)
	})
}

func TestER1_ListenErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		network string
		addr    string
		wantErr error // nil: any error
	}{
		{name: "UDP", network: "udp", addr: "127.0.0.1:0", wantErr: transport.ErrUnknownNetwork},
		{name: "Bogus", network: "bogus", addr: "x", wantErr: transport.ErrUnknownNetwork},
		{name: "Empty", network: "", addr: "127.0.0.1:0", wantErr: transport.ErrUnknownNetwork},
		{name: "BadAddress", network: "tcp", addr: "127.0.0.1:no-such-port"},
		{name: "NoDirectory", network: "unix", addr: "/no/such/directory/s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := transport.Listen(context.Background(), tc.network, tc.addr)
			if err == nil {
				srv.Close()
				t.Fatalf("Listen(%q, %q) succeeded, want an error", tc.network, tc.addr)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Listen(%q, %q) = %v, want %v", tc.network, tc.addr, err, tc.wantErr)
			}
		})
	}
}

func TestListenUnixAddrInUse(t *testing.T) {
	srv := listen(t, "unix")
	if second, err := transport.Listen(context.Background(), "unix", srv.Addr().String()); err == nil {
		second.Close()
		t.Fatalf("a second Listen on %s succeeded", srv.Addr())
	}
}

func TestListenCtxBoundsSetupOnly(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := transport.Listen(ctx, network, listenAddr(t, network))
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		t.Cleanup(func() { srv.Close() })
		cancel() // once Listen has returned, this changes nothing
		peer := dial(t, srv)
		tr := accept(t, srv)
		ch := tr.Events()
		nextEvent(t, ch)
		roundTrip(t, tr, ch, peer)
	})
}
