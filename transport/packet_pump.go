//go:build linux

package transport

import (
	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// A datagram endpoint whose events a channel or an Observable consumes,
// on a poller loop: the loop receives only while the consumer's one slot
// is free and puts each Datagram (a copy, or a pooled buffer with
// WithPooledData) or DatagramError in it without waiting. One that finds
// the slot full, or reading paused, goes to a pump (conn_pump.go), and
// the loop stops receiving. Unlike a stream's, a datagram pump goes on
// while its consumer lags: once the consumer has taken its event, it
// delivers the send errors waiting, then receives the next datagram
// itself, into a buffer of its own, and waits in its send, until the
// socket is drained or reading is paused; then it gives reading back to
// the loop. So a busy endpoint whose consumer cannot keep up costs a
// receive and a send per datagram, as on a read goroutine, not a round
// trip between the loop and a new pump; it still holds at most one
// datagram beside the slot.

// loopSend puts e, a channel consumer's event (a Datagram's Data is the
// loop's buffer, lent for the call), in the slot and reports true; it
// reports false when a pump took it, or when the endpoint is closing
// (then e is dropped, as on a read goroutine: nothing after close).
func (c *packetConn) loopSend(e stream.Event) bool {
	if e.Kind == stream.Datagram {
		e = c.ownedDatagram(e)
	}
	if !c.noRead.Load() && c.q.TrySend(e) {
		return true
	}
	if c.IsClosing() {
		e.Release()
		return false
	}
	c.handToPump()
	go c.pump(e)
	return false
}

// ownedDatagram returns e with Data the consumer's (see owned); an empty
// datagram holds no buffer, as on a read goroutine.
func (c *packetConn) ownedDatagram(e stream.Event) stream.Event {
	if len(e.Data) == 0 {
		e.Data = []byte{}
		return e
	}
	return c.owned(e)
}

// pump delivers e, then the events pumpNext finds, until there are none
// or the consumer is gone; then it gives reading back to the loop, and
// the send errors left after its last look go to the loop too.
func (c *packetConn) pump(e stream.Event) {
	defer c.pumps.Done()
	var buf *bufpool.Buf // made by the first receive
	for c.pumpSend(c.q, e, nil) {
		var ok bool
		if e, ok = c.pumpNext(&buf); !ok {
			break
		}
	}
	if buf != nil {
		buf.Put()
	}
	c.pumpEnded()
	c.mu.Lock()
	if len(c.sendErr) > 0 && c.lc != nil { // a send error left later posts its own
		c.lc.Post(c.loopSendErrors)
	}
	c.mu.Unlock()
}

// pumpNext returns the pump's next event: the oldest send error waiting,
// else a datagram received now (into *buf, made on first use, and
// copied for the consumer). It reports false once the endpoint is
// closing or paused, or the socket is drained.
func (c *packetConn) pumpNext(buf **bufpool.Buf) (stream.Event, bool) {
	for !c.IsClosing() {
		if e, ok := c.takeSendError(); ok {
			return e, true
		}
		if c.noRead.Load() {
			return stream.Event{}, false // paused: the resume turns the loop's reading on
		}
		if *buf == nil {
			*buf = bufpool.Get(sock.MaxRead)
		}
		e, more := c.tryRecv((*buf).Bytes())
		switch {
		case e.Kind == stream.Datagram:
			return c.ownedDatagram(e), true
		case e.Kind != 0:
			return e, true
		case !more:
			return e, false
		}
	}
	return stream.Event{}, false
}
