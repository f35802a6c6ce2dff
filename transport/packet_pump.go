//go:build linux

package transport

import "github.com/rxnet/rxnet/stream"

// A datagram endpoint whose events a channel or an Observable consumes,
// on a poller loop: the loop receives only while the consumer's one slot
// is free and puts each Datagram (a copy, or a pooled buffer with
// WithPooledData) or DatagramError in it without waiting. One that finds
// the slot full, or reading paused, goes to a pump (conn_pump.go), which
// holds it until the consumer takes the event before it; the loop stops
// receiving meanwhile. Send errors left while a pump runs wait for it, in
// order, and the pump's end posts their delivery to the loop.

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
	c.handToPump(e, nil, c.pumpedSendErrors)
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

// pumpedSendErrors is a pump's last step, once it has cleared c.pumping:
// the send errors loopSendErrors left while the pump ran are delivered by
// a task posted to the loop. A send error left after this check posts
// its own (sendFailedLocked).
func (c *packetConn) pumpedSendErrors() {
	c.mu.Lock()
	if len(c.sendErr) > 0 && c.lc != nil {
		c.lc.Post(c.loopSendErrors)
	}
	c.mu.Unlock()
}
