package transport

import (
	"bytes"
	"errors"
	"syscall"

	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// A stream transport served by the Protocol adapter is read by a poller
// loop (internal/poll) where one runs: the loop reads the socket into
// its own buffer and runs the callbacks, and flushes the write buffer
// when the socket becomes writable, so that an idle connection holds no
// goroutine and no buffer (DESIGN.md, "Engines"). Where a delivery would
// have to wait (a detached stream's consumer, a Data that met a pause
// made on another goroutine, a StartTLS), the transport leaves its loop
// for a read goroutine of its own, for good: unloop.

// loopReader is a conn as its loop's poll.Handler.
type loopReader conn

// putOnLoop is a conn's core.startLoop: it puts a claimed transport (by
// the adapter, a channel or an Observable) on a loop, unless it speaks
// TLS, is closing or its engine is the goroutine one. A pipe goes too;
// one epoll refuses (a character device) keeps its read goroutine. The
// claim's start calls it, without c.mu.
func (c *conn) putOnLoop() bool {
	c.mu.Lock()
	defer c.mu.Unlock() // held through Register: end must see c.lc
	if c.sec != nil || c.up != nil {
		return false
	}
	return c.registerLocked((*loopReader)(c), c.loopMade, true)
}

// loopMade delivers Made on the loop, then turns reading on.
func (c *conn) loopMade() {
	c.checkReader()
	c.deliver(c.loopH, stream.Event{Kind: stream.Made})
	c.startReading()
}

// loopReads bounds the reads one OnReadable makes, so that a transport
// that keeps the socket full does not starve its loop's others.
const loopReads = 4

// OnReadable implements poll.Handler: reads into the loop's buffer, each
// delivered to the adapter on the loop, until the socket is drained or
// loopReads reads were made. On a write pipe, which is never readable,
// it means the reader went away (EPOLLERR).
func (r *loopReader) OnReadable(buf []byte) (more bool) {
	c := (*conn)(r)
	c.checkReader()
	if c.pipe == writePipe {
		if c.fd.HungUp() {
			c.readerGone()
		}
		return false
	}
	for range loopReads {
		if !c.loopRead(buf) || c.loopLC.Closing() {
			return false
		}
		if c.pumping.Load() {
			return true // readable still: SetReading turns the calls back on
		}
	}
	return true
}

// loopRead is one read of OnReadable; it reports whether the socket may
// hold more (false: drained, or reading is over).
func (c *conn) loopRead(buf []byte) (more bool) {
	switch {
	case c.leaving.Load():
		return false // leaving for a read goroutine, which reads from here on
	case c.loopEOF:
		return false // nothing is read after EOF, as on a read goroutine
	case c.tlsOn.Load():
		c.Unloop() // StartTLS: the read goroutine runs the handshake
		return false
	case c.noRead.Load():
		return c.readOpen() // paused (reading is off): keep the readiness
	case c.pumping.Load():
		return true // likewise, while a pump holds a chunk
	}
	want := min(c.readCap, len(buf))
	own := c.loopBuffer(want)
	if own != nil {
		buf = own.Bytes()
	}
	if c.loopH != nil {
		into, err := c.loopH.ReadBuffer()
		if err != nil {
			return false // the adapter failed the transport
		}
		if into != nil {
			buf, want = into, len(into)
		}
	}
	n, err := c.fd.TryReadInto(buf[:want])
	if own != nil && (err != nil || n == 0) {
		own.Put()
	}
	switch {
	case errors.Is(err, sock.ErrWouldBlock):
		return false
	case errors.Is(err, sock.ErrStopped), errors.Is(err, sock.ErrInterrupted):
		return true // paused, closing or upgrading meanwhile: the next call sees it
	case err != nil:
		c.readFailed(err)
		return false
	case n == 0:
		c.loopEOF = true
		c.loopZero()
		return false
	}
	c.stats.read.Add(int64(n))
	data := buf[:n]
	switch {
	case c.tlsOn.Load():
		c.holdAndUnloop(bytes.Clone(data), false)
		if own != nil {
			own.Put()
		}
		return false
	case c.loopH == nil: // a channel consumer owns its Data
		if e := c.loopOwned(data, own); !c.q.TrySend(e) {
			c.startPump(e, c.q)
			return true
		}
	case !c.loopH.TryEvent(stream.Event{Kind: stream.Data, Data: data}):
		c.holdAndUnloop(bytes.Clone(data), false)
		return false
	default:
		c.stats.events.Add(1)
	}
	// A short read drained the socket, unless the peer's FIN (or a reset)
	// came with the data: no new edge would announce it.
	return n == want || c.loopLC.HungUp()
}

// loopZero handles a read of 0 bytes on the loop, as readZero does on a
// read goroutine.
func (c *conn) loopZero() {
	c.mu.Lock()
	open, reset := c.state == stateOpen, c.resetLocked()
	if open && !reset {
		c.eofRead = true
	}
	half := c.halfClosesLocked()
	c.mu.Unlock()
	switch {
	case !open:
	case reset:
		c.readFailed(syscall.ECONNRESET)
	case c.loopH == nil: // EOF's handshake waits for the consumer
		c.pumps.Add(1)
		go func() {
			defer c.pumps.Done()
			c.deliver(nil, stream.Event{Kind: stream.EOF})
			c.afterEOF(nil, half)
		}()
	case !c.loopH.TryEvent(stream.Event{Kind: stream.EOF}):
		c.holdAndUnloop(nil, true)
	default:
		c.stats.events.Add(1)
		c.afterEOF(c.loopH, half) // the adapter half-closes (EOFReceived decides); a read pipe closes
	}
}

// readOpen reports whether the transport is still open.
func (c *conn) readOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen
}

// OnWritable implements poll.Handler.
func (r *loopReader) OnWritable() {
	c := (*conn)(r)
	c.checkReader()
	c.loopFlush()
}

// OnDropped implements poll.Handler: a panic escaped rxnet's own code on
// the loop (a user callback's is recovered by the adapter). The
// transport fails with it.
func (r *loopReader) OnDropped(err error) { (*conn)(r).Fail(err) }

// kickFlushLocked starts flushing the write buffer, which c.flushing
// already reserves: the loop when one reads the transport, else the
// flush goroutine. c.mu is held.
func (c *conn) kickFlushLocked() {
	if c.lc != nil {
		c.loopFlushing, c.loopFull = true, true // the kernel took less than asked
		c.lc.WantWritable()
		return
	}
	go c.flush()
}

// loopFlush is the flush goroutine's work done on the loop: it writes
// the buffer until the socket is full, then waits for OnWritable again;
// once the buffer is empty it finishes a pending WriteEOF or Close.
func (c *conn) loopFlush() {
	for {
		c.mu.Lock()
		c.loopFull = false
		switch {
		case !c.loopFlushing: // spurious, or off the loop now
			c.mu.Unlock()
			return
		case c.state == stateDone:
			c.flushing, c.loopFlushing = false, false
			c.mu.Unlock()
			return
		case c.buf.Len() == 0:
			c.flushing, c.loopFlushing = false, false
			c.emptiedLocked()
			c.flushed() // releases c.mu
			return
		}
		tr, err := c.writeBufferedLocked()
		if err != nil {
			c.mu.Unlock()
			c.shut(c.opError("write", err))
			return
		}
		full := c.loopFull
		if full {
			c.lc.WantWritable()
		}
		h := c.handler
		c.mu.Unlock()
		c.afterFlow(h, tr)
		if full {
			return
		}
	}
}

// pushLocked is a writer's help to a loop's flush: one non-blocking
// writev of the buffer, on the writer's goroutine, so that a write goes
// out at once even while the loop is busy (a callback holding it), unless
// the kernel said full and no writable edge came since. Once the buffer
// is empty the write side is the writers' again. c.mu is held.
func (c *conn) pushLocked() (flow.Transition, error) {
	if c.loopFull {
		return flow.Unchanged, nil
	}
	tr, err := c.writeBufferedLocked()
	if err == nil && c.buf.Len() == 0 {
		c.flushing, c.loopFlushing = false, false // a later OnWritable finds nothing to do
		c.emptiedLocked()
	}
	return tr, err
}

// writeBufferedLocked writes what the buffer holds with one non-blocking
// writev and accounts for it; loopFull records whether the kernel took
// less. c.mu is held.
func (c *conn) writeBufferedLocked() (flow.Transition, error) {
	views := c.buf.Views(c.views[:0])
	total := viewsLen(views)
	n, err := c.fd.TryWritev(views)
	clear(views)
	c.views = views[:0]
	if err != nil {
		return flow.Unchanged, err
	}
	c.loopFull = n < total
	c.buf.Consume(n)
	c.stats.written += int64(n)
	tr := c.flow.Sub(n)
	c.flowLocked(tr)
	return tr, nil
}

// viewsLen is the number of bytes views hold.
func viewsLen(views [][]byte) int {
	n := 0
	for _, v := range views {
		n += len(v)
	}
	return n
}

// holdAndUnloop keeps what the loop read but could not deliver (chunk,
// or EOF) for the read goroutine, then leaves the loop.
func (c *conn) holdAndUnloop(chunk []byte, eof bool) {
	c.mu.Lock()
	c.heldRead, c.heldEOF = chunk, eof
	c.mu.Unlock()
	c.Unloop()
}

// Unloop implements sink.Attacher: the transport leaves its loop for a
// read goroutine of its own, which takes over reading, delivering and
// a flush in progress. From the loop's goroutine it starts at once (no
// callback of this transport runs meanwhile); from any other goroutine
// it waits until the loop has stopped calling the transport.
func (c *conn) Unloop() {
	c.mu.Lock()
	lc := c.lc
	if lc == nil { // never on a loop, left already, or ended (Lost is posted)
		c.mu.Unlock()
		return
	}
	c.lc = nil
	c.leaving.Store(true) // a chunk read from now on would follow the one held
	flush := c.loopFlushing
	c.loopFlushing = false
	c.ensureWakeLocked() // for the read goroutine it is leaving for
	c.mu.Unlock()
	lc.SetReading(false)
	onLoop := lc.InLoop()
	lc.Close()
	// From this transport's own callback, the calling goroutine leaves the
	// loop with it and reads it from then on, while a new one runs the
	// loop: what the callback does next (StartTLS's handshake, say) does
	// not stall the loop's other transports.
	if !lc.Handoff(func() { c.offLoop(lc, false, flush) }) {
		go c.offLoop(lc, !onLoop, flush)
	}
}

// offLoop is the read goroutine of a transport that left its loop: it
// delivers what the loop held, then goes on as run does.
func (c *conn) offLoop(lc *poll.Conn, wait, flush bool) {
	if wait {
		<-lc.Done()
	}
	h := c.loopH
	if h != nil {
		h.ReaderMoved(goid.Get())
	}
	if flush {
		go c.flush()
	}
	c.pumps.Wait() // a pump may leave its chunk in heldRead
	if c.deliverHeld(h) {
		c.read(h)
	} else {
		c.abandonUpgrade()
	}
	c.finish(h)
}

// deliverHeld delivers, from a goroutine that may wait, what the loop
// read but could not deliver, and reports whether reading goes on.
func (c *conn) deliverHeld(h sink.Handler) bool {
	c.mu.Lock()
	chunk, eof, eofRead := c.heldRead, c.heldEOF, c.eofRead
	c.heldRead, c.heldEOF = nil, false
	c.mu.Unlock()
	switch {
	case eof:
		c.deliver(h, stream.Event{Kind: stream.EOF})
		c.mu.Lock()
		half := c.halfClosesLocked()
		c.mu.Unlock()
		c.afterEOF(h, half) // a read pipe closes at EOF
		return false
	case chunk != nil:
		if c.handover(h, chunk) { // handshake input for StartTLS
			return false
		}
		c.deliver(h, stream.Event{Kind: stream.Data, Data: chunk})
	}
	return !eofRead
}

// loopBuffer returns the pooled buffer a channel consumer's next read on
// the loop goes into, handed over with no copy (WithPooledData), or nil
// for the loop's own buffer, from which a read is copied. A transport
// reads into its own while its reads are small: a 1 KiB read then holds a
// small pooled buffer, not a 64 KiB one, and the copy costs little.
// After a read of more than bufpool.BulkSize bytes, the next goes into a
// buffer of its own.
func (c *conn) loopBuffer(want int) *bufpool.Buf {
	if !c.loopBulk { // set for a pooled channel consumer only (loopOwned)
		return nil
	}
	return bufpool.Get(want)
}

// loopOwned returns the Data event of the n bytes in data for a channel
// consumer: own itself when the read went into it (loopBuffer), else a
// copy (see owned). It notes whether the next read is bulk.
func (c *conn) loopOwned(data []byte, own *bufpool.Buf) stream.Event {
	c.loopBulk = c.pooled && len(data) > bufpool.BulkSize
	e := stream.Event{Kind: stream.Data, Data: data}
	if own != nil {
		return c.handed(e, own, len(data))
	}
	return c.owned(e)
}
