package transport

import "github.com/rxnet/rxnet/stream"

// A channel or Observable consumer's transport on a poller loop: the loop
// reads only while the consumer has room (the channel's one slot is
// free), and puts each event in the slot without waiting. When the slot
// is full, the loop stops reading the transport and a pump takes the
// event: a goroutine that waits in the send, which completes exactly when
// the consumer takes the event in the slot (the explicit signal), then
// turns the loop's reading back on and exits. So an idle transport, or
// one whose consumer keeps up, holds no goroutine of its own; one whose
// consumer lags holds one, and one event. Streams pump a chunk (Data),
// datagram endpoints a Datagram or a DatagramError (packet_loop.go).

// startPump hands chunk, which the full slot refused, to a pump. It runs
// on the loop.
func (c *conn) startPump(chunk stream.Event) { c.handToPump(chunk, c.pumpHandshake, nil) }

// pumpHandshake leaves chunk to the read goroutine a StartTLS starts
// (heldRead: handshake input, never given back), and reports whether it
// did.
func (c *conn) pumpHandshake(chunk stream.Event) bool {
	if !c.tlsOn.Load() {
		return false
	}
	c.mu.Lock()
	c.heldRead = chunk.Data
	c.mu.Unlock()
	return true
}

// handToPump hands e, which the full slot refused (or a pause held
// back), to a pump; the loop's reading stays off until the pump is done,
// and the loop keeps the descriptor's readiness meanwhile (the socket is
// not drained). divert, if not nil, may take e instead of the consumer;
// pumped, if not nil, runs once the pump has turned reading back on. It
// runs on the loop.
func (c *core) handToPump(e stream.Event, divert func(stream.Event) bool, pumped func()) {
	c.mu.Lock()
	c.pumping.Store(true)
	c.ensureWakeLocked()
	if c.lc != nil {
		c.lc.SetReading(false)
	}
	c.pumps.Add(1)
	c.mu.Unlock()
	go c.pump(e, divert, pumped)
}

// pump delivers e as a read goroutine would: it waits while reading is
// paused (RD3), drops e after a local close, and delivers it before Lost
// after a failure. Then reading goes on.
func (c *core) pump(e stream.Event, divert func(stream.Event) bool, pumped func()) {
	defer c.pumps.Done()
	for {
		readable := c.waitReadable()
		switch {
		case !readable && c.ReadDropped(0): // closed locally: nothing after close
			e.Release()
		case divert != nil && divert(e):
		default:
			if _, woken := c.q.SendData(e, c.wakeC); woken {
				continue
			}
		}
		c.pumping.Store(false)
		c.startReading() // unless paused, closing or off its loop
		if pumped != nil {
			pumped()
		}
		return
	}
}
