//go:build linux

package transport

import (
	"bytes"
	"net"

	"github.com/rxnet/rxnet/internal/flow"
)

// SendTo implements DatagramTransport.
func (c *packetConn) SendTo(p []byte, addr net.Addr) error {
	to, err := c.target(addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.state != stateOpen {
		err := c.deadErr
		c.mu.Unlock()
		return err
	}
	if !c.flushing {
		sent, err := c.fd.TrySendTo(p, &to)
		if err != nil {
			c.sendFailedLocked(err)
		}
		if sent {
			c.stats.written += int64(len(p))
		}
		if sent || err != nil {
			c.mu.Unlock()
			return nil
		}
	}
	if p == nil {
		p = []byte{}
	}
	c.queue = append(c.queue, datagram{p: bytes.Clone(p), to: to})
	tr := c.flow.Add(len(p) + DatagramOverhead)
	c.flowLocked(tr)
	if !c.flushing {
		c.flushing = true
		c.startFlushLocked()
	}
	h := c.handler
	c.mu.Unlock()
	c.afterFlow(h, tr)
	return nil
}

// sendFailedLocked leaves a send's socket error for the read goroutine to
// deliver as a DatagramError, waking it (on a loop: posting the delivery
// to it); the datagram is dropped (asyncio's error_received). c.mu is
// held.
func (c *packetConn) sendFailedLocked(err error) {
	if len(c.sendErr) >= maxPendingErrors {
		return
	}
	c.sendErr = append(c.sendErr, c.opError("write", err))
	switch {
	case len(c.sendErr) > 1: // a delivery is on its way already
	case c.lc != nil:
		c.lc.Post(c.loopSendErrors)
	default:
		c.fd.Interrupt()
	}
}

// flushEnded ends a flush whose queue is empty (or dropped): it finishes
// a pending Close. c.mu is held; flushEnded releases it.
func (c *packetConn) flushEnded() {
	c.flushing, c.loopFlushing = false, false
	closing := c.state == stateClosing
	c.queue = nil
	c.mu.Unlock()
	if closing {
		c.shut(nil)
	}
}

// flush is the goroutine that sends the queued datagrams in order, waiting
// for the socket to become writable, while the queue is not empty; then
// it finishes a pending Close.
func (c *packetConn) flush() {
	for {
		c.mu.Lock()
		if c.state == stateDone || len(c.queue) == 0 {
			c.flushEnded()
			return
		}
		d := c.queue[0]
		c.mu.Unlock()
		err := c.fd.SendTo(d.p, &d.to)
		c.mu.Lock()
		if c.state == stateDone { // aborted meanwhile: the queue is gone
			c.flushing = false
			c.mu.Unlock()
			return
		}
		tr := c.sentLocked(len(d.p), err)
		h := c.handler
		c.mu.Unlock()
		c.afterFlow(h, tr)
	}
}

// sentLocked takes the first queued datagram, of n bytes, off the queue
// once its send returned err, and returns the flow transition, which the
// caller applies with afterFlow once c.mu is released. c.mu is held.
func (c *packetConn) sentLocked(n int, err error) flow.Transition {
	c.queue[0] = datagram{}
	c.queue = c.queue[1:]
	if err != nil {
		c.sendFailedLocked(err)
	} else {
		c.stats.written += int64(n)
	}
	tr := c.flow.Sub(n + DatagramOverhead)
	c.flowLocked(tr)
	return tr
}
