//go:build linux

package transport

import (
	"fmt"
	"net"
	"time"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// DatagramOverhead is what each queued datagram adds to WriteBufferSize
// beyond its length, so that empty datagrams count too. A sent datagram
// takes away exactly what it added (asyncio 3.13.0–3.13.5 did not, and
// stayed paused).
const DatagramOverhead = 8

// maxPendingErrors bounds the send errors waiting to be delivered as
// DatagramError events; more are dropped.
const maxPendingErrors = 16

// packetSocket is what a datagram endpoint runs on: *net.UDPConn or
// *net.UnixConn.
type packetSocket interface {
	socket
	SetReadDeadline(t time.Time) error
}

// datagram is one queued datagram: a copy of the payload and where to.
type datagram struct {
	p  []byte
	to sock.Sockaddr // the zero Sockaddr: the connected peer
}

// packetConn is the datagram endpoint for UDP and unixgram sockets.
type packetConn struct {
	core
	family  int                        // the socket's: AF_INET, AF_INET6 or AF_UNIX
	peer    net.Addr                   // the connected peer; nil when unconnected
	senders map[sock.Sockaddr]net.Addr // the reader's: read goroutine or loop

	// The loop's (packet_loop.go).
	held    stream.Event // a datagram (or error) met a pause: see loopEvent
	holding bool

	// Guarded by c.mu.
	queue   []datagram
	sendErr []error // send errors waiting for the read goroutine
}

var (
	_ DatagramTransport = (*packetConn)(nil)
	_ sink.Attacher     = (*packetConn)(nil)
)

// newPacketConn wraps a datagram socket. It does not read until its
// events are claimed.
func newPacketConn(ps packetSocket, cfg resolved) (*packetConn, error) {
	family, err := sockaddrFamily(ps)
	if err != nil {
		return nil, err
	}
	c := &packetConn{family: family, peer: ps.RemoteAddr(), senders: make(map[sock.Sockaddr]net.Addr)}
	c.startLoop = c.putOnLoop
	if err := c.init(ps, cfg, c.readLoop, func() { c.queue = nil }, sock.NewDatagram); err != nil {
		return nil, err
	}
	return c, nil
}

// Attach implements sink.Attacher.
func (c *packetConn) Attach(h sink.Handler) bool { return c.attach(h, nil) }

// CloseAfterEOF implements sink.Attacher; a datagram endpoint has no EOF.
func (c *packetConn) CloseAfterEOF() { c.close(false) }

// target returns where SendTo sends to addr.
func (c *packetConn) target(addr net.Addr) (sock.Sockaddr, error) {
	switch {
	case c.peer != nil && (addr == nil || sameAddr(addr, c.peer)):
		return sock.Sockaddr{}, nil
	case c.peer != nil:
		return sock.Sockaddr{}, fmt.Errorf("%w %v: must be nil or %v", ErrBadAddress, addr, c.peer)
	case addr == nil:
		return sock.Sockaddr{}, fmt.Errorf("%w: nil on an unconnected endpoint", ErrBadAddress)
	}
	return toSockaddr(addr, c.family)
}
