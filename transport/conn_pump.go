package transport

import (
	"github.com/rxnet/rxnet/internal/queue"
	"github.com/rxnet/rxnet/stream"
)

// A channel or Observable consumer's transport on a poller loop: the loop
// reads only while the consumer has room (the channel's one slot is
// free), and puts each event in the slot without waiting. When the slot
// is full, the loop stops reading the transport and a pump takes the
// event: a goroutine that waits in the send, which completes exactly when
// the consumer takes the event in the slot (the explicit signal), then
// turns the loop's reading back on and exits. So an idle transport, or
// one whose consumer keeps up, holds no goroutine of its own; one whose
// consumer lags holds one, and one event. A stream's pump takes one
// chunk (Data); a datagram endpoint's goes on receiving while its
// consumer lags (packet_pump.go).

// startPump hands chunk, which the full slot of q refused, to a pump; q
// is the transport's queue, or its subprocess transport's for a pipe of
// one (pipesink.go). It runs on the loop.
func (c *conn) startPump(chunk stream.Event, q *queue.Queue) {
	c.handToPump()
	go c.pump(chunk, q)
}

// pump delivers chunk to q, or leaves it to the read goroutine a StartTLS
// starts (pumpHandshake), then turns reading back on.
func (c *conn) pump(chunk stream.Event, q *queue.Queue) {
	defer c.pumps.Done()
	c.pumpSend(q, chunk, c.pumpHandshake)
	c.pumpEnded()
}

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

// handToPump makes way for a pump, which the caller starts next with
// c.pumps counting it: the loop's reading stays off until the pump is
// done (pumpEnded), and the loop keeps the descriptor's readiness
// meanwhile (the socket is not drained). It runs on the loop.
func (c *core) handToPump() {
	c.mu.Lock()
	c.pumping.Store(true)
	c.ensureWakeLocked()
	if c.lc != nil {
		c.lc.SetReading(false)
	}
	c.pumps.Add(1)
	c.mu.Unlock()
}

// pumpSend delivers e to q from a pump as a read goroutine would: it waits
// while reading is paused (RD3), drops e after a local close, and
// delivers it before Lost after a failure; divert, if not nil, may take
// e instead of the consumer. It reports whether the consumer got e.
func (c *core) pumpSend(q *queue.Queue, e stream.Event, divert func(stream.Event) bool) bool {
	for {
		readable := c.waitReadable()
		switch {
		case !readable && c.ReadDropped(0): // closed locally: nothing after close
			e.Release()
			return false
		case divert != nil && divert(e):
			return false
		}
		if sent, woken := q.SendData(e, c.wakeC); !woken {
			return sent
		}
	}
}

// pumpEnded ends a pump: the loop's reading goes back on, unless the
// transport is paused, closing or off its loop.
func (c *core) pumpEnded() {
	c.pumping.Store(false)
	c.startReading()
}
