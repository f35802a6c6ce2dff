package transport

import (
	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/stream"
)

// What every transport on a poller loop shares (conn_loop.go for
// streams, packet_loop.go for datagram endpoints): putting it on a loop,
// Made and reading there, following the loop's goroutine, and Lost.

// registerLocked puts the transport on a loop, with hd as the loop's
// handler and made posted as its first task, when the adapter claimed it
// (or, if channels, a channel or Observable consumer: loopH is nil then),
// it is open and its engine is the poller's; it reports false, changing
// nothing, otherwise (then the read goroutine reads it). c.mu is held
// through the registration, so that end sees c.lc.
func (c *core) registerLocked(hd poll.Handler, made func(), channels bool) bool {
	h := c.handler
	if !c.polled || (h == nil && !channels) || c.state != stateOpen {
		return false
	}
	fd, err := c.fd.Sysfd()
	if err != nil {
		return false
	}
	share, _ := h.(loopSharer)
	var near *poll.Conn
	if share != nil {
		near = share.loopNear()
	}
	lc, err := poll.RegisterNear(fd, hd, near)
	if err != nil {
		return false // a descriptor epoll refuses: the read goroutine reads it
	}
	if share != nil {
		share.onLoop(lc)
	}
	c.lc, c.loopH, c.loopLC = lc, h, lc
	lc.Post(made)
	return true
}

// loopSharer is a handler whose transports share one loop (a
// subprocess's pipes, pipesink.go), so that their callbacks, which the
// adapter runs one at a time, never wait for each other across loops.
type loopSharer interface {
	loopNear() *poll.Conn // the loop to share, by a Conn on it; nil for any
	onLoop(lc *poll.Conn) // the transport went on lc's loop
}

// startReading turns the loop's reading on after Made, unless the
// transport is paused, closing or off the loop already.
func (c *core) startReading() {
	c.mu.Lock()
	c.loopMadeIn = true
	if c.lc != nil && !c.readPaused && !c.pumping.Load() && c.state == stateOpen {
		c.lc.SetReading(true)
	}
	c.mu.Unlock()
}

// checkReader tells the adapter when a new goroutine runs the loop (a
// Handoff made by another transport on it): its callbacks then run there.
// It runs on the loop only.
func (c *core) checkReader() {
	if id := c.loopLC.LoopID(); id != c.loopGID {
		c.loopGID = id
		if c.loopH != nil {
			c.loopH.ReaderMoved(id)
		}
	}
}

// leaveLoop is end's part for a transport on a loop, before its
// descriptor is closed: Lost is posted to the loop, after the callbacks
// running or queued, and the descriptor leaves epoll. c.mu is not held.
func (c *core) leaveLoop(lc *poll.Conn, h sink.Handler) {
	posted := lc.Post(func() { c.loopLost(h) })
	lc.Close()
	if !posted { // the loop dropped it (OnDropped)
		go c.finishHeld(h)
	}
}

// loopLost delivers Lost on the loop, once end has closed the
// descriptor (it is closing it as this runs, or has).
func (c *core) loopLost(h sink.Handler) {
	<-c.Done()
	c.mu.Lock()
	held := c.heldRead != nil || c.heldEOF
	lost := stream.Event{Kind: stream.Lost, Err: c.lostErr}
	c.mu.Unlock()
	if held || h == nil || !h.TryEvent(lost) { // a channel's Lost may wait
		go c.finishHeld(h)
		return
	}
	c.stats.events.Add(1)
	if c.onLost != nil {
		c.onLost()
	}
}

// finishHeld delivers what the loop held, if anything, then Lost, from a
// goroutine that may wait. After a local close the adapter drops the
// held data; after a failure it gets it before Lost.
func (c *core) finishHeld(h sink.Handler) {
	c.pumps.Wait() // what a channel consumer was being handed goes first
	if h != nil {
		h.ReaderMoved(goid.Get())
	}
	c.mu.Lock()
	chunk, eof := c.heldRead, c.heldEOF
	c.heldRead, c.heldEOF = nil, false
	c.mu.Unlock()
	switch {
	case eof:
		c.deliver(h, stream.Event{Kind: stream.EOF})
	case chunk != nil:
		c.deliver(h, stream.Event{Kind: stream.Data, Data: chunk})
	}
	c.finish(h)
}
