//go:build linux

package transport

import (
	"bytes"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// A datagram endpoint served by the DatagramProtocol adapter is read by
// a poller loop where one runs, as a stream transport is (conn_loop.go):
// the loop receives into its own buffer and runs the callbacks, delivers
// the send errors the writers leave in a task posted to it, and sends
// the queued datagrams when the socket becomes writable, so that an idle
// endpoint holds no goroutine and no buffer. Nothing on its loop waits:
// a datagram that met a PauseReading made on another goroutine is held
// on the endpoint and delivered by the first OnReadable after the
// resume, so an endpoint never leaves its loop (DESIGN.md, "Engines").
// An endpoint whose events a channel or an Observable consumes is on a
// loop too: the loop puts each event in the consumer's slot while it is
// free, and a pump takes one that finds it full (packet_pump.go).

// loopPacket is a packetConn as its loop's poll.Handler.
type loopPacket packetConn

// putOnLoop is a packetConn's core.startLoop: it puts a claimed endpoint
// (by the adapter, a channel or an Observable) on a loop, unless it is
// closing or its engine is the goroutine one. The claim's start calls
// it, without c.mu.
func (c *packetConn) putOnLoop() bool {
	c.mu.Lock()
	defer c.mu.Unlock() // held through Register: end must see c.lc
	return c.registerLocked((*loopPacket)(c), c.loopMade, true)
}

// loopMade delivers Made on the loop, then the send errors left before
// it, then turns reading on.
func (c *packetConn) loopMade() {
	c.checkReader()
	c.deliver(c.loopH, stream.Event{Kind: stream.Made})
	c.loopSendErrors()
	c.startReading()
}

// loopDatagrams bounds the datagrams one OnReadable receives. It is more
// than a stream's loopReads: a datagram is usually small, and each call
// the loop makes costs it an epoll_wait.
const loopDatagrams = 16

// OnReadable implements poll.Handler: it delivers a held datagram first,
// then receives into the loop's buffer, each datagram delivered on the
// loop, until the socket is drained or loopDatagrams were received.
func (r *loopPacket) OnReadable(buf []byte) (more bool) {
	c := (*packetConn)(r)
	c.checkReader()
	if !c.deliverHeldDatagram() {
		return true // still paused: the resume calls again
	}
	for range loopDatagrams {
		if !c.loopRecv(buf) || c.loopLC.Closing() {
			return false
		}
		if c.holding || c.pumping.Load() {
			return true // paused or full meanwhile: the resume (or pump) calls again
		}
	}
	return true
}

// loopRecv is one receive of OnReadable; it reports whether the socket
// may hold more.
func (c *packetConn) loopRecv(buf []byte) (more bool) {
	switch {
	case c.noRead.Load():
		return !c.IsClosing() // paused (reading is off): keep the readiness
	case c.pumping.Load():
		return true // likewise, while a pump holds an event
	}
	e, more := c.tryRecv(buf)
	switch {
	case e.Kind != 0:
		c.loopEvent(e)
	case more: // stopped or interrupted meanwhile
		c.loopSendErrors()
	}
	return more
}

// tryRecv is one non-blocking receive into buf, whose outcome it handles
// as readLoop handles ReadFrom's: it returns the event to deliver (a
// Datagram's Data is buf's), if any, and whether the socket may hold
// more. A receive made by a pump (packet_pump.go) is one too.
func (c *packetConn) tryRecv(buf []byte) (e stream.Event, more bool) {
	n, from, trunc, err := c.fd.TryReadFrom(buf[:min(len(buf), sock.MaxRead)])
	switch {
	case errors.Is(err, sock.ErrWouldBlock):
		return e, false
	case errors.Is(err, sock.ErrStopped):
		return e, true // paused or closing meanwhile: the next call sees it
	case errors.Is(err, sock.ErrInterrupted): // an Interrupt made before the loop
		c.mu.Lock()
		c.fd.Resume()
		c.mu.Unlock()
		return e, true // the send errors it announced wait in c.sendErr
	case err != nil && !nonFatal(err):
		c.readFailed(err)
		return e, false
	case err != nil || trunc:
		if trunc {
			err = unix.EMSGSIZE // cut by the kernel: dropped, like a failed read
		}
		return stream.Event{Kind: stream.DatagramError, Err: c.opError("read", err)}, true
	}
	c.stats.read.Add(int64(n))
	return stream.Event{Kind: stream.Datagram, Addr: c.sender(&from), Data: buf[:n]}, true
}

// loopEvent delivers e on the loop and reports true; when the adapter
// refuses it (reading was paused on another goroutine meanwhile) it
// keeps a copy for deliverHeldDatagram and reports false. A channel
// consumer's event goes to loopSend.
func (c *packetConn) loopEvent(e stream.Event) bool {
	if c.loopH == nil {
		return c.loopSend(e)
	}
	if c.loopH.TryEvent(e) {
		c.stats.events.Add(1)
		return true
	}
	e.Data = bytes.Clone(e.Data)
	c.held, c.holding = e, true
	return false
}

// deliverHeldDatagram delivers what loopEvent held, then the send errors
// that waited behind it; it reports false when the adapter still refuses
// it.
func (c *packetConn) deliverHeldDatagram() bool {
	if !c.holding {
		return true
	}
	if !c.loopH.TryEvent(c.held) {
		return false
	}
	c.stats.events.Add(1)
	c.held, c.holding = stream.Event{}, false
	c.loopSendErrors()
	return !c.holding
}

// loopSendErrors is the task that delivers, on the loop, the send errors
// SendTo and the flush left (see sendFailedLocked), oldest first. Behind
// a held datagram, or a pump, they wait for it, in order.
func (c *packetConn) loopSendErrors() {
	for !c.holding && !c.pumping.Load() { // else deliverHeldDatagram, or the pump, calls again
		e, ok := c.takeSendError()
		if !ok || !c.loopEvent(e) {
			return
		}
	}
}

// takeSendError takes the oldest send error waiting for delivery.
func (c *packetConn) takeSendError() (stream.Event, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sendErr) == 0 {
		return stream.Event{}, false
	}
	e := stream.Event{Kind: stream.DatagramError, Err: c.sendErr[0]}
	c.sendErr[0] = nil
	c.sendErr = c.sendErr[1:]
	return e, true
}

// OnWritable implements poll.Handler.
func (r *loopPacket) OnWritable() {
	c := (*packetConn)(r)
	c.checkReader()
	c.loopFlush()
}

// OnDropped implements poll.Handler: a panic escaped rxnet's own code on
// the loop; the endpoint fails with it.
func (r *loopPacket) OnDropped(err error) { (*packetConn)(r).Fail(err) }

// startFlushLocked starts sending the queue, which c.flushing already
// reserves: the loop once the socket is writable when one reads the
// endpoint, else the flush goroutine. c.mu is held.
func (c *packetConn) startFlushLocked() {
	if c.lc != nil {
		c.loopFlushing = true
		c.lc.WantWritable() // the socket said EAGAIN
		return
	}
	go c.flush()
}

// loopFlush is the flush goroutine's work done on the loop: it sends the
// queued datagrams in order until the socket is full, then waits for
// OnWritable again; once the queue is empty it finishes a pending Close.
func (c *packetConn) loopFlush() {
	for {
		c.mu.Lock()
		switch {
		case !c.loopFlushing: // spurious
			c.mu.Unlock()
			return
		case c.state == stateDone || len(c.queue) == 0:
			c.flushEnded()
			return
		}
		d := &c.queue[0]
		sent, err := c.fd.TrySendTo(d.p, &d.to)
		if !sent && err == nil {
			c.lc.WantWritable()
			c.mu.Unlock()
			return
		}
		tr := c.sentLocked(len(d.p), err)
		h := c.handler
		c.mu.Unlock()
		c.afterFlow(h, tr)
	}
}
