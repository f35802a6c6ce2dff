//go:build !linux

package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// DatagramOverhead is what each queued datagram adds to WriteBufferSize
// beyond its length.
const DatagramOverhead = 8

// ListenPacket returns an error wrapping errors.ErrUnsupported off Linux.
func ListenPacket(ctx context.Context, network, laddr string, opts ...Option) (DatagramTransport, error) {
	return nil, fmt.Errorf("transport: datagram endpoints: %w", errors.ErrUnsupported)
}

// DialPacket returns an error wrapping errors.ErrUnsupported off Linux.
func DialPacket(ctx context.Context, network, raddr string, opts ...Option) (DatagramTransport, error) {
	return nil, fmt.Errorf("transport: datagram endpoints: %w", errors.ErrUnsupported)
}

// FromPacketConn returns an error wrapping errors.ErrUnsupported off
// Linux, leaving pc open.
func FromPacketConn(pc net.PacketConn, opts ...Option) (DatagramTransport, error) {
	return nil, fmt.Errorf("transport: datagram endpoints: %w", errors.ErrUnsupported)
}
