package transport

import (
	"github.com/rxnet/rxnet/internal/queue"
	"github.com/rxnet/rxnet/stream"
)

// A channel or Observable consumer's transport on a poller loop: the loop
// reads only while the consumer has room (the channel's one slot is
// free), and puts each chunk in the slot without waiting. When the slot
// is full, the loop stops reading the transport and a pump takes the
// chunk: a goroutine that waits in the send, which completes exactly when
// the consumer takes the event in the slot (the explicit signal), then
// turns the loop's reading back on and exits. So an idle transport, or
// one whose consumer keeps up, holds no goroutine of its own; one whose
// consumer lags holds one, and one chunk.

// startPump hands chunk, which the full slot of q refused, to a pump; q
// is the transport's queue, or its subprocess transport's for a pipe of
// one (pipesink.go). The loop's reading stays off until the pump is
// done, and the loop keeps the descriptor's readiness meanwhile (the
// socket is not drained). It runs on the loop.
func (c *conn) startPump(chunk stream.Event, q *queue.Queue) {
	c.mu.Lock()
	c.pumping.Store(true)
	c.ensureWakeLocked()
	if c.lc != nil {
		c.lc.SetReading(false)
	}
	c.pumps.Add(1)
	c.mu.Unlock()
	go c.pump(chunk, q)
}

// pump delivers chunk as deliverData does on a read goroutine: it waits
// while reading is paused (RD3), drops it after a local close, delivers
// it before Lost after a failure, and leaves it to the read goroutine a
// StartTLS starts (heldRead: handshake input). Then reading goes on.
func (c *conn) pump(chunk stream.Event, q *queue.Queue) {
	defer c.pumps.Done()
	for {
		readable := c.waitReadable()
		switch {
		case !readable && c.ReadDropped(0): // closed locally: no data after close
			chunk.Release()
		case c.tlsOn.Load():
			c.mu.Lock()
			c.heldRead = chunk.Data // handshake input: never given back
			c.mu.Unlock()
		default:
			if _, woken := q.SendData(chunk, c.wakeC); woken {
				continue
			}
		}
		c.pumped()
		return
	}
}

// pumped turns the loop's reading back on once the pump is done, unless
// the transport is paused, closing or off its loop.
func (c *conn) pumped() {
	c.pumping.Store(false)
	c.startReading()
}
