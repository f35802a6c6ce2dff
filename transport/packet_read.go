//go:build linux

package transport

import (
	"errors"
	"net"
	"syscall"

	"github.com/rxnet/rxnet/internal/bufpool"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// readLoop reads and delivers datagrams, and the send errors the writers
// left for it, until the endpoint closes or fails.
func (c *packetConn) readLoop(h sink.Handler) {
	for c.waitReadable() {
		buf, n, from, trunc, err := c.fd.ReadFrom(sock.MaxRead)
		switch {
		case errors.Is(err, sock.ErrStopped):
			continue
		case errors.Is(err, sock.ErrInterrupted):
			if !c.deliverSendErrors(h) {
				return
			}
			continue
		case err != nil && !nonFatal(err):
			c.readFailed(err)
			return
		case err != nil || trunc:
			if trunc {
				buf.Put()
				err = unix.EMSGSIZE // cut by the kernel: dropped, like a failed read
			}
			if !c.deliverError(h, c.opError("read", err)) {
				return
			}
			continue
		}
		if !c.deliverDatagram(h, buf, n, &from) {
			return
		}
	}
}

// nonFatal reports whether a socket error leaves the endpoint open: every
// errno (ECONNREFUSED, EMSGSIZE, ENOBUFS, ...) but those that say the
// descriptor itself is unusable.
func nonFatal(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case unix.EBADF, unix.ENOTSOCK, unix.EINVAL, unix.EFAULT, unix.ENOTCONN:
		return false
	}
	return true
}

// deliverDatagram delivers the n bytes read into buf (nil for an empty
// datagram) with their sender, and gives buf back. The adapter borrows
// buf for the call; a channel consumer owns a copy. Like a stream's data,
// a datagram read just as reading was paused waits for the resume, and
// after a local close it is dropped. It reports whether reading goes on.
func (c *packetConn) deliverDatagram(h sink.Handler, buf *bufpool.Buf, n int, from *sock.Sockaddr) bool {
	c.stats.read.Add(int64(n))
	e := stream.Event{Kind: stream.Datagram, Addr: c.sender(from), Data: []byte{}}
	if h != nil {
		if buf != nil {
			e.Data = buf.Bytes()[:n]
		}
		c.deliver(h, e)
		if buf != nil {
			buf.Put()
		}
		return true
	}
	if buf != nil {
		e = c.handed(e, buf, n)
	}
	if !c.waitReadable() {
		e.Release()
		return false
	}
	return c.deliver(nil, e)
}

// sender returns the net.Addr of a datagram's sender: the same one for
// every datagram from one place, so that a busy endpoint allocates none.
// The read goroutine remembers at most maxSenders of them.
func (c *packetConn) sender(from *sock.Sockaddr) net.Addr {
	if c.peer != nil {
		return c.peer
	}
	if a, ok := c.senders[*from]; ok {
		return a
	}
	if len(c.senders) >= maxSenders {
		clear(c.senders)
	}
	a := fromSockaddr(from)
	c.senders[*from] = a
	return a
}

// deliverError delivers a DatagramError; it reports whether reading goes
// on.
func (c *packetConn) deliverError(h sink.Handler, err error) bool {
	e := stream.Event{Kind: stream.DatagramError, Err: err}
	if h == nil && !c.waitReadable() {
		return false
	}
	return c.deliver(h, e)
}

// deliverSendErrors delivers the errors SendTo and the flush left (see
// sendFailedLocked); it reports whether reading goes on.
func (c *packetConn) deliverSendErrors(h sink.Handler) bool {
	c.mu.Lock()
	errs := c.sendErr
	c.sendErr = nil
	c.fd.Resume()
	c.mu.Unlock()
	for _, err := range errs {
		if !c.deliverError(h, err) {
			return false
		}
	}
	return true
}
