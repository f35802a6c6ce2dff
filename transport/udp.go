//go:build linux

package transport

import (
	"context"
	"fmt"
	"net"
)

// packetNetworks are the networks ListenPacket and DialPacket support.
var packetNetworks = map[string]bool{"udp": true, "udp4": true, "udp6": true, "unixgram": true}

func checkPacketNetwork(network string) error {
	if !packetNetworks[network] {
		return fmt.Errorf("%w %q (want udp, udp4, udp6 or unixgram)", ErrUnknownNetwork, network)
	}
	return nil
}

// ListenPacket opens a datagram endpoint bound to laddr on the named
// network ("udp", "udp4", "udp6" or "unixgram"), unconnected: SendTo needs
// an address, and datagrams from anyone arrive (asyncio's
// create_datagram_endpoint with local_addr). ctx bounds setting up the
// socket only. The socket options (WithReuseAddr, WithReusePort,
// WithBroadcast, WithReceiveBuffer, WithSendBuffer) are set before it
// binds. Closing the endpoint does not remove a unixgram socket's file.
//
// The endpoint does not read until its events are claimed (Events,
// Observable, or the adapters package), so no datagram is missed.
func ListenPacket(ctx context.Context, network, laddr string, opts ...Option) (DatagramTransport, error) {
	cfg, err := resolve(opts, kListenPacket)
	if err != nil {
		return nil, err
	}
	if err := checkPacketNetwork(network); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: socketControl(cfg)}
	pc, err := lc.ListenPacket(ctx, network, laddr)
	if err != nil {
		return nil, err
	}
	return wrapPacket(pc, cfg)
}

// DialPacket opens a datagram endpoint connected to raddr on the named
// network ("udp", "udp4", "udp6" or "unixgram"): SendTo's address may be
// nil, and only the peer's datagrams arrive (asyncio's
// create_datagram_endpoint with remote_addr). WithLocalAddr binds it
// first; a unixgram endpoint needs that to receive replies. ctx bounds
// setting up the socket only.
func DialPacket(ctx context.Context, network, raddr string, opts ...Option) (DatagramTransport, error) {
	cfg, err := resolve(opts, kDialPacket)
	if err != nil {
		return nil, err
	}
	if err := checkPacketNetwork(network); err != nil {
		return nil, err
	}
	d, err := dialer(cfg, network)
	if err != nil {
		return nil, err
	}
	nc, err := d.DialContext(ctx, network, raddr)
	if err != nil {
		return nil, err
	}
	return wrapPacket(nc, cfg)
}

// wrapPacket makes the endpoint; on error it closes the socket.
func wrapPacket(s any, cfg resolved) (DatagramTransport, error) {
	ps, ok := s.(packetSocket)
	if !ok {
		if c, ok := s.(interface{ Close() error }); ok {
			c.Close()
		}
		return nil, fmt.Errorf("transport: %T is not a datagram socket", s)
	}
	c, err := newPacketConn(ps, cfg)
	if err != nil {
		ps.Close()
		return nil, err
	}
	return c, nil
}

// FromPacketConn adopts pc, an open datagram socket, and returns it as a
// DatagramTransport (asyncio's create_datagram_endpoint(sock=)): connected
// (SendTo's address may be nil) when pc is, unconnected otherwise. pc must
// be a *net.UDPConn or a unixgram *net.UnixConn, and open; for anything
// else (a TCP or stream Unix conn, a closed socket, a net.PacketConn of
// another kind) FromPacketConn returns an error wrapping ErrNotAdoptable
// (ER1).
//
// On success the endpoint owns pc: closing the endpoint closes pc, and the
// caller must no longer use pc. On any error pc is left open and still the
// caller's. The options are ListenPacket's, less those that act before a
// socket is bound (WithLocalAddr, WithReusePort, WithReuseAddr,
// WithBroadcast, WithReceiveBuffer, WithSendBuffer): given any of them,
// FromPacketConn returns an error wrapping errors.ErrUnsupported.
//
// The endpoint does not read until its events are claimed. FromPacketConn
// may be called from any goroutine.
func FromPacketConn(pc net.PacketConn, opts ...Option) (DatagramTransport, error) {
	cfg, err := resolve(opts, kFromPacketConn)
	if err != nil {
		return nil, err
	}
	if err := checkAdoptOptions("FromPacketConn", cfg, false); err != nil {
		return nil, err
	}
	var ps packetSocket
	switch s := pc.(type) {
	case *net.UDPConn:
		ps = s
	case *net.UnixConn:
		ps = s
	default:
		return nil, fmt.Errorf("%w: %T (want *net.UDPConn or a unixgram *net.UnixConn)", ErrNotAdoptable, pc)
	}
	if err := checkAdoptable(ps, sockDgram); err != nil {
		return nil, err
	}
	return newPacketConn(ps, cfg)
}
