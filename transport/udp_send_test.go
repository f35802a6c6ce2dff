//go:build linux

package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestWR2_D8_SendToAfterCloseRefused checks that SendTo after Close or
// Abort (Close still flushing included) returns an error matching
// net.ErrClosed, and that nothing it was given reaches the peer: the next
// datagram the peer gets is a marker sent afterwards by another socket.
func TestWR2_D8_SendToAfterCloseRefused(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		for _, end := range []string{"Close", "Abort"} {
			t.Run(end, func(t *testing.T) {
				p := newDgPair(t, network, connected)
				ch := claimDg(t, p.tr)
				if end == "Close" {
					p.tr.Close()
				} else {
					p.tr.Abort()
				}
				for _, to := range []net.Addr{p.to, p.peer.LocalAddr()} {
					if err := p.tr.SendTo([]byte("late"), to); !errors.Is(err, net.ErrClosed) {
						t.Errorf("SendTo(%v) after %s = %v, want net.ErrClosed", to, end, err)
					}
				}
				dgExpectLost(t, ch)
				if err := p.tr.SendTo([]byte("later"), p.to); !errors.Is(err, net.ErrClosed) {
					t.Errorf("SendTo after Lost = %v, want net.ErrClosed", err)
				}
				marker := rawPeer(t, network)
				marker.SetWriteDeadline(time.Now().Add(waitTimeout))
				if _, err := marker.WriteTo([]byte("marker"), p.peer.LocalAddr()); err != nil {
					t.Fatalf("marker WriteTo: %v", err)
				}
				if b, from := peerRecv(t, p.peer); string(b) != "marker" {
					t.Fatalf("peer got %q from %v after %s, want only the marker", b, from, end)
				}
			})
		}
	})
}

// badAddrs returns addresses SendTo must refuse on network's endpoints:
// the other kind, typed nil pointers, an IP address without a port, and
// for udp an IPv6 address on the IPv4 socket.
func badAddrs(network string) []net.Addr {
	var nilUDP *net.UDPAddr
	var nilUnix *net.UnixAddr
	bad := []net.Addr{nilUDP, nilUnix, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}}
	if network == "unixgram" {
		return append(bad, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
	}
	return append(bad, &net.UnixAddr{Name: "/nonexistent", Net: "unixgram"}, &net.UDPAddr{IP: net.IPv6loopback, Port: 9})
}

// TestD2_ConnectedSendToAddress checks a connected endpoint: SendTo to
// another address or a bad one (badAddrs) returns ErrBadAddress, sends
// nothing and never panics (ER1); nil and the peer's own address work.
func TestD2_ConnectedSendToAddress(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, true)
		ch := claimDg(t, p.tr)
		other := rawPeer(t, network).LocalAddr()
		for _, bad := range append(badAddrs(network), other) {
			if err := p.tr.SendTo([]byte("bad"), bad); !errors.Is(err, transport.ErrBadAddress) {
				t.Errorf("SendTo(%v) on an endpoint connected to %v = %v, want ErrBadAddress", bad, p.peer.LocalAddr(), err)
			}
		}
		// A fresh value equal to the peer's address is the peer.
		same, err := net.ResolveUDPAddr("udp", p.peer.LocalAddr().String())
		var peerAddr net.Addr = same
		if network == "unixgram" {
			peerAddr, err = &net.UnixAddr{Name: p.peer.LocalAddr().String(), Net: "unixgram"}, nil
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, to := range []net.Addr{nil, peerAddr} {
			if err := p.tr.SendTo(seqDatagram(i, 10), to); err != nil {
				t.Fatalf("SendTo(%v) on a connected endpoint: %v", to, err)
			}
			b, _ := peerRecv(t, p.peer)
			checkSeq(t, b, i) // and not "bad"
		}
		if p.tr.IsClosing() || len(transporttest.DrainQueued(ch)) != 0 {
			t.Fatalf("a refused SendTo closed the endpoint or made an event")
		}
	})
}

// TestD3_ER1_UnconnectedSendToNil checks that SendTo without an address
// (or with a bad one, badAddrs) on an unconnected endpoint returns
// ErrBadAddress, never panics, and leaves the endpoint working both ways.
func TestD3_ER1_UnconnectedSendToNil(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, false)
		ch := claimDg(t, p.tr)
		for _, bad := range append(badAddrs(network), nil) {
			if err := p.tr.SendTo([]byte("bad"), bad); !errors.Is(err, transport.ErrBadAddress) {
				t.Errorf("SendTo(%v) on an unconnected endpoint = %v, want ErrBadAddress", bad, err)
			}
		}
		if p.tr.IsClosing() {
			t.Fatalf("IsClosing true after a refused SendTo")
		}
		p.sendTo(t, seqDatagram(0, 10))
		b, _ := peerRecv(t, p.peer)
		checkSeq(t, b, 0)
		p.peerSend(t, seqDatagram(1, 10))
		expectSeq(t, ch, 1, 2, p.peer.LocalAddr())
	})
}

// TestD4_EmptyDatagram checks that an empty datagram is sent (nil and
// []byte{}) and that one received is a Datagram event of length 0, in
// order with the others.
func TestD4_EmptyDatagram(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		p := newDgPair(t, network, connected)
		ch := claimDg(t, p.tr)
		for _, b := range [][]byte{nil, {}, []byte("x")} {
			p.sendTo(t, b)
		}
		for _, want := range []string{"", "", "x"} {
			if b, _ := peerRecv(t, p.peer); string(b) != want {
				t.Fatalf("peer got %q, want %q", b, want)
			}
		}
		p.peerSend(t, nil)
		p.peerSend(t, []byte("y"))
		if e := dgExpect(t, ch, stream.Datagram); len(e.Data) != 0 || e.Addr.String() != p.peer.LocalAddr().String() {
			t.Fatalf("got Datagram(%q) from %v, want an empty one from %v", e.Data, e.Addr, p.peer.LocalAddr())
		}
		if e := dgExpect(t, ch, stream.Datagram); string(e.Data) != "y" {
			t.Fatalf("got %q after the empty datagram, want y", e.Data)
		}
	})
}

// deadUDPAddr returns a local UDP address nobody listens on: one that was
// bound and closed.
func deadUDPAddr(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// TestD6_ConnRefusedIsDatagramError connects to a UDP port nobody listens
// on and sends until the kernel reports the ICMP port unreachable: it
// comes as a DatagramError matching ECONNREFUSED, the endpoint stays open,
// and once someone listens there it still sends.
func TestD6_ConnRefusedIsDatagramError(t *testing.T) {
	addr := deadUDPAddr(t)
	tr := dialDg(t, "udp", addr)
	ch := claimDg(t, tr)
	var dgErr stream.Event
	for i := 0; dgErr.Kind == 0; i++ {
		if i == 200 {
			t.Fatalf("no DatagramError after %d sends to a closed port", i)
		}
		if err := tr.SendTo([]byte("anyone?"), nil); err != nil {
			t.Fatalf("SendTo #%d: %v, want nil (errors come as events)", i, err)
		}
		select {
		case e := <-ch:
			if e.Kind != stream.DatagramError {
				t.Fatalf("got %v, want DatagramError", e)
			}
			dgErr = e
		case <-time.After(50 * time.Millisecond): // send again, as asyncio's test does
		}
	}
	if !errors.Is(dgErr.Err, syscall.ECONNREFUSED) {
		t.Fatalf("DatagramError(%v), want one matching ECONNREFUSED", dgErr.Err)
	}
	if tr.IsClosing() || !tr.IsReading() {
		t.Fatalf("after ECONNREFUSED IsClosing %v, IsReading %v; want false, true", tr.IsClosing(), tr.IsReading())
	}
	peer, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again to check the endpoint still sends: %v", addr, err)
	}
	defer peer.Close()
	if err := tr.SendTo([]byte("hello"), nil); err != nil {
		t.Fatalf("SendTo after the DatagramError: %v", err)
	}
	if b, _ := peerRecv(t, peer); string(b) != "hello" {
		t.Fatalf("peer got %q, want hello", b)
	}
	for _, e := range transporttest.DrainQueued(ch) {
		if e.Kind != stream.DatagramError {
			t.Fatalf("unexpected %v", e)
		}
	}
}

// TestD6_OversizedDatagramIsDatagramError sends, over unixgram, a
// datagram of exactly 64 KiB (delivered whole) and one over 64 KiB: that
// one is a DatagramError matching EMSGSIZE, and the endpoint goes on.
func TestD6_OversizedDatagramIsDatagramError(t *testing.T) {
	p := newDgPair(t, "unixgram", false)
	ch := claimDg(t, p.tr)
	p.peerSend(t, seqDatagram(0, 64<<10))
	p.peerSend(t, seqDatagram(1, 100<<10))
	p.peerSend(t, seqDatagram(2, 10))
	if e := dgExpect(t, ch, stream.Datagram); len(e.Data) != 64<<10 {
		t.Fatalf("a 64 KiB datagram arrived as %d bytes", len(e.Data))
	} else {
		checkSeq(t, e.Data, 0)
	}
	if e := dgExpect(t, ch, stream.DatagramError); !errors.Is(e.Err, syscall.EMSGSIZE) {
		t.Fatalf("DatagramError(%v) for a 100 KiB datagram, want EMSGSIZE", e.Err)
	}
	expectSeq(t, ch, 2, 3, p.peer.LocalAddr())
	if p.tr.IsClosing() {
		t.Fatalf("IsClosing true after a truncated datagram")
	}
}

// TestX4_DatagramLocalRemoteAddrAndExtraInfo checks LocalAddr and
// InfoSockname (the address the peer sees), RemoteAddr and InfoPeername
// (the peer when connected; nil, and absent, otherwise) and InfoSocket (a
// syscall.RawConn), before and after Lost.
func TestX4_DatagramLocalRemoteAddrAndExtraInfo(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		p := newDgPair(t, network, connected)
		ch := claimDg(t, p.tr)
		p.sendTo(t, []byte("hi"))
		_, from := peerRecv(t, p.peer)
		check := func(when string) {
			t.Helper()
			if a := sockname(t, p.tr); a.String() != from.String() || a.Network() != network {
				t.Errorf("%s: sockname %v (%s), want %v (%s)", when, a, a.Network(), from, network)
			}
			if a := p.tr.LocalAddr(); a != sockname(t, p.tr) {
				t.Errorf("%s: LocalAddr() = %v, not InfoSockname", when, a)
			}
			if a := p.tr.RemoteAddr(); connected && (a == nil || a.String() != p.peer.LocalAddr().String()) || !connected && a != nil {
				t.Errorf("%s: RemoteAddr() = %v; want the peer %v when connected, nil otherwise", when, a, p.peer.LocalAddr())
			}
			v, ok := p.tr.ExtraInfo(transport.InfoPeername)
			if connected {
				if a, isAddr := v.(net.Addr); !ok || !isAddr || a.String() != p.peer.LocalAddr().String() {
					t.Errorf("%s: peername %v, %v; want %v", when, v, ok, p.peer.LocalAddr())
				}
			} else if ok {
				t.Errorf("%s: peername %v on an unconnected endpoint, want ok false", when, v)
			}
			rawConnOf(t, p.tr)
			if v, ok := p.tr.ExtraInfo("nope"); ok || v != nil {
				t.Errorf(`%s: ExtraInfo("nope") = %v, %v; want nil, false`, when, v, ok)
			}
		}
		check("open")
		p.tr.Close()
		dgExpectLost(t, ch)
		check("after Lost")
	})
}

// TestER1_PacketUnknownNetwork checks that ListenPacket and DialPacket
// refuse stream and unknown networks with ErrUnknownNetwork.
func TestER1_PacketUnknownNetwork(t *testing.T) {
	for _, network := range []string{"tcp", "unix", "unixpacket", "ip", "bogus", ""} {
		t.Run(fmt.Sprintf("%q", network), func(t *testing.T) {
			ctx := context.Background()
			if tr, err := transport.ListenPacket(ctx, network, "127.0.0.1:0"); !errors.Is(err, transport.ErrUnknownNetwork) {
				if tr != nil {
					tr.Abort()
				}
				t.Errorf("ListenPacket(%q) = %v, want ErrUnknownNetwork", network, err)
			}
			if tr, err := transport.DialPacket(ctx, network, "127.0.0.1:9"); !errors.Is(err, transport.ErrUnknownNetwork) {
				if tr != nil {
					tr.Abort()
				}
				t.Errorf("DialPacket(%q) = %v, want ErrUnknownNetwork", network, err)
			}
		})
	}
}

// TestER1_DatagramOptionsRejected checks that bad options make
// ListenPacket and DialPacket fail instead of panicking.
func TestER1_DatagramOptionsRejected(t *testing.T) {
	for name, opt := range map[string]transport.Option{
		"NegativeReceiveBuffer": transport.WithReceiveBuffer(-1),
		"NegativeSendBuffer":    transport.WithSendBuffer(-1),
		"LowOverHigh":           transport.WithWriteBufferLimits(10, 20),
		"NegativeHigh":          transport.WithWriteBufferLimits(-1, def),
		"NegativeEventBuffer":   transport.WithEventBuffer(-1),
		"NegativeReadLimit":     transport.WithReadLimit(-1),
		"NilOption":             nil,
	} {
		t.Run(name, func(t *testing.T) {
			forDg(t, func(t *testing.T, network string) {
				ctx := context.Background()
				if tr, err := transport.ListenPacket(ctx, network, transporttest.LocalAddr(t, network), opt); err == nil {
					tr.Abort()
					t.Errorf("ListenPacket with %s succeeded", name)
				}
				peer := rawPeer(t, network)
				if tr, err := transport.DialPacket(ctx, network, peer.LocalAddr().String(), opt); err == nil {
					tr.Abort()
					t.Errorf("DialPacket with %s succeeded", name)
				}
			})
		})
	}
}
