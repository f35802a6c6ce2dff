//go:build linux

package transport_test

import (
	"errors"
	"net"
	"testing"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestFromPacketConnLC5 adopts a bound and a connected UDP and unixgram
// socket, exchanges datagrams both ways, and checks that Close released
// the adopted socket.
func TestFromPacketConnLC5(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		peer := rawPeer(t, network)
		laddr := transporttest.LocalAddr(t, network)
		var pc net.PacketConn
		var err error
		if connected {
			var d net.Dialer
			switch network {
			case "udp":
				d.LocalAddr, err = net.ResolveUDPAddr(network, laddr)
			default:
				d.LocalAddr, err = net.ResolveUnixAddr(network, laddr)
			}
			if err != nil {
				t.Fatalf("resolve: %v", err)
			}
			var c net.Conn
			c, err = d.Dial(network, peer.LocalAddr().String())
			if c != nil {
				pc = c.(net.PacketConn)
			}
		} else {
			pc, err = net.ListenPacket(network, laddr)
		}
		if err != nil {
			t.Fatalf("socket: %v", err)
		}
		defer pc.Close()
		tr, err := transport.FromPacketConn(pc)
		if err != nil {
			t.Fatalf("FromPacketConn: %v", err)
		}
		defer tr.Abort()
		ch := tr.Events()
		if e := nextEvent(t, ch); e.Kind != stream.Made {
			t.Fatalf("first event %v, want Made", e.Kind)
		}
		var to net.Addr
		if !connected {
			to = peer.LocalAddr()
		}
		if err := tr.SendTo([]byte("ping"), to); err != nil {
			t.Fatalf("SendTo: %v", err)
		}
		buf := make([]byte, 16)
		n, _, err := peer.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("peer got %q, %v; want ping", buf[:n], err)
		}
		if _, err := peer.WriteTo([]byte("pong"), pc.LocalAddr()); err != nil {
			t.Fatalf("peer WriteTo: %v", err)
		}
		if e := nextEvent(t, ch); e.Kind != stream.Datagram || string(e.Data) != "pong" {
			t.Fatalf("event %v %q, want Datagram pong", e.Kind, e.Data)
		}
		if err := tr.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		waitDone(t, tr)
		if err := pc.SetDeadline(noDeadline); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("adopted socket SetDeadline after Close: %v, want net.ErrClosed", err)
		}
	})
}

// wrappedPacketConn is a net.PacketConn rxnet cannot see the socket of.
type wrappedPacketConn struct{ net.PacketConn }

// TestFromPacketConnRefusesER1 refuses what FromPacketConn cannot drive,
// leaving it open.
func TestFromPacketConnRefusesER1(t *testing.T) {
	closed := rawPeer(t, "udp")
	closed.Close()
	open := rawPeer(t, "udp")
	ln, err := net.Listen("unix", listenAddr(t, "unix"))
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer ln.Close()
	stream, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer stream.Close()
	for _, c := range []struct {
		name string
		pc   net.PacketConn
	}{
		{"closed", closed},
		{"wrapped", wrappedPacketConn{open}},
		{"unix stream", stream.(*net.UnixConn)},
		{"nil", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := transport.FromPacketConn(c.pc); !errors.Is(err, transport.ErrNotAdoptable) {
				t.Fatalf("FromPacketConn: %v, want ErrNotAdoptable", err)
			}
		})
	}
	if _, err := transport.FromPacketConn(open, transport.WithBroadcast()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("FromPacketConn WithBroadcast: %v, want errors.ErrUnsupported", err)
	}
	if err := open.SetDeadline(noDeadline); err != nil {
		t.Errorf("socket closed by a refusal: %v", err)
	}
	if err := stream.SetDeadline(noDeadline); err != nil {
		t.Errorf("unix stream closed by a refusal: %v", err)
	}
}
