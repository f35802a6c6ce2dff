package transport_test

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// adoptedPair dials a plain net.Conn and adopts it with FromConn; the peer
// is the accepted net.Conn.
func adoptedPair(t *testing.T, network string, opts ...transport.Option) transporttest.Pair {
	t.Helper()
	ln, err := net.Listen(network, listenAddr(t, network))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	nc, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	tr, err := transport.FromConn(nc, opts...)
	if err != nil {
		nc.Close()
		t.Fatalf("FromConn: %v", err)
	}
	t.Cleanup(tr.Abort)
	peer, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { peer.Close() })
	return transporttest.Pair{Transport: tr, Peer: peer}
}

// adoptRoundTrip checks Made, then that tr works both ways with peer.
func adoptRoundTrip(t *testing.T, tr transport.Transport, peer net.Conn) {
	t.Helper()
	ch := tr.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e.Kind)
	}
	roundTrip(t, tr, ch, peer)
}

// TestFromConnLC5 adopts a dialed and an accepted connection, exchanges
// data both ways, and checks that Close released the adopted socket: the
// original net.Conn no longer works.
func TestFromConnLC5(t *testing.T) {
	networks(t, func(t *testing.T, network string) {
		for _, role := range []string{"dialed", "accepted"} {
			t.Run(role, func(t *testing.T) {
				ln, err := net.Listen(network, listenAddr(t, network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				defer ln.Close()
				dialed, err := net.Dial(network, ln.Addr().String())
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer dialed.Close()
				accepted, err := ln.Accept()
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				defer accepted.Close()
				nc, other := dialed, accepted
				if role == "accepted" {
					nc, other = accepted, dialed
				}
				tr, err := transport.FromConn(nc)
				if err != nil {
					t.Fatalf("FromConn: %v", err)
				}
				adoptRoundTrip(t, tr, other)
				if err := tr.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				waitDone(t, tr)
				if _, err := nc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("adopted conn Write after Close: %v, want net.ErrClosed", err)
				}
			})
		}
	})
}

// TestFromConnRefusesER1 gives FromConn what it cannot drive: each is
// refused with ErrNotAdoptable and left open, still the caller's.
func TestFromConnRefusesER1(t *testing.T) {
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	defer udp.Close()
	gram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: listenAddr(t, "unix"), Net: "unixgram"})
	if err != nil {
		t.Fatalf("ListenUnixgram: %v", err)
	}
	defer gram.Close()
	closed := adoptedPair(t, "tcp").Peer
	closed.Close()
	tcp := adoptedPair(t, "tcp").Peer
	for _, c := range []struct {
		name string
		nc   net.Conn
	}{
		{"pipe", p1},
		{"tls", tls.Client(tcp, &tls.Config{})},
		{"udp", udp.(net.Conn)},
		{"unixgram", gram},
		{"closed", closed},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := transport.FromConn(c.nc); !errors.Is(err, transport.ErrNotAdoptable) {
				t.Fatalf("FromConn: %v, want ErrNotAdoptable", err)
			}
		})
	}
	// Still the caller's: the refused sockets were not closed.
	if err := udp.(net.Conn).SetDeadline(noDeadline); err != nil {
		t.Errorf("udp conn closed by the refusal: %v", err)
	}
	if err := tcp.SetDeadline(noDeadline); err != nil {
		t.Errorf("tcp conn under tls closed by the refusal: %v", err)
	}
}

// TestFromConnOptionsER1 refuses the options an adopted conn cannot
// honour, leaving the conn open.
func TestFromConnOptionsER1(t *testing.T) {
	nc := adoptedPair(t, "tcp").Peer
	_, _, client := tlsCerts(t)
	for name, o := range map[string]transport.Option{
		"local addr": transport.WithLocalAddr("127.0.0.1:0"),
		"reuse addr": transport.WithReuseAddr(),
		"tls":        transport.WithTLS(client),
	} {
		if _, err := transport.FromConn(nc, o); !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("FromConn with %s: %v, want errors.ErrUnsupported", name, err)
		}
	}
	if err := nc.SetDeadline(noDeadline); err != nil {
		t.Errorf("conn closed by a refusal: %v", err)
	}
}

// TestFromListenerLC5 serves an adopted listener, plain and TLS, over TCP
// and Unix; Close closes the listener.
func TestFromListenerLC5(t *testing.T) {
	_, server, client := tlsCerts(t)
	networks(t, func(t *testing.T, network string) {
		for _, secure := range []bool{false, true} {
			name := "plain"
			if secure {
				name = "tls"
			}
			t.Run(name, func(t *testing.T) {
				ln, err := net.Listen(network, listenAddr(t, network))
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				var opts []transport.Option
				if secure {
					opts = append(opts, transport.WithTLS(server))
				}
				srv, err := transport.FromListener(ln, opts...)
				if err != nil {
					ln.Close()
					t.Fatalf("FromListener: %v", err)
				}
				defer srv.Close()
				peer, err := net.Dial(network, ln.Addr().String())
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer peer.Close()
				if secure {
					cfg := client.Clone()
					cfg.ServerName = "localhost"
					tc := tls.Client(peer, cfg)
					defer tc.Close()
					peer = tc
					hs := make(chan error, 1)
					go func() { hs <- tc.Handshake() }()
					defer func() {
						if err := <-hs; err != nil {
							t.Errorf("peer handshake: %v", err)
						}
					}()
				}
				adoptRoundTrip(t, accept(t, srv), peer)
				if err := srv.Close(); err != nil {
					t.Fatalf("Server.Close: %v", err)
				}
				if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("adopted listener Accept after Close: %v, want net.ErrClosed", err)
				}
			})
		}
	})
}

// TestFromListenerRefusesER1 refuses listeners FromListener cannot serve,
// leaving them open.
func TestFromListenerRefusesER1(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	closed.Close()
	seq, err := net.Listen("unixpacket", listenAddr(t, "unix"))
	if err != nil {
		t.Fatalf("Listen unixpacket: %v", err)
	}
	defer seq.Close()
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer open.Close()
	for _, c := range []struct {
		name string
		ln   net.Listener
	}{
		{"closed", closed},
		{"unixpacket", seq},
		{"tls", tls.NewListener(open, &tls.Config{})},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := transport.FromListener(c.ln); !errors.Is(err, transport.ErrNotAdoptable) {
				t.Fatalf("FromListener: %v, want ErrNotAdoptable", err)
			}
		})
	}
	if _, err := transport.FromListener(open, transport.WithReusePort()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("FromListener WithReusePort: %v, want errors.ErrUnsupported", err)
	}
	if err := open.(*net.TCPListener).SetDeadline(noDeadline); err != nil {
		t.Errorf("listener closed by a refusal: %v", err)
	}
}

// noDeadline clears a deadline; setting it fails on a closed socket.
var noDeadline = time.Time{}
