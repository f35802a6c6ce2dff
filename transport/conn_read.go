package transport

import (
	"bytes"
	"errors"
	"syscall"

	"github.com/rxnet/rxnet/internal/bufpool"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// read is the read goroutine's work (see core.run): a write pipe only
// watches for its reader going away.
func (c *conn) read(h sink.Handler) {
	if c.pipe == writePipe {
		c.watchReader()
		return
	}
	c.readLoop(h)
	c.abandonUpgrade()
}

// readLoop reads and delivers until EOF, a failure or a local close.
func (c *conn) readLoop(h sink.Handler) {
	for {
		readable := c.waitReadable()
		if c.tlsOn.Load() { // even when closing: Close waits for close_notify
			c.upgradeReader(h, nil)
			return
		}
		if !readable {
			return
		}
		into, err := c.readBuffer(h)
		if err != nil {
			return // the handler failed the transport
		}
		var buf *bufpool.Buf
		var n int
		if into != nil {
			n, err = c.fd.ReadInto(into, true)
		} else {
			buf, n, err = c.fd.Read(c.readCap)
		}
		switch {
		case errors.Is(err, sock.ErrStopped), errors.Is(err, sock.ErrInterrupted):
			continue
		case err != nil:
			c.readFailed(err)
			return
		case n == 0:
			c.readZero(h)
			return
		}
		var more bool
		if into != nil {
			more = c.deliverInPlace(h, into[:n])
		} else {
			more = c.deliverData(h, buf, n)
		}
		if !more {
			return
		}
	}
}

// readBuffer returns the buffer the adapter h provides for the next read
// (a BufferedProtocol's), nil for the transport's own (see
// sink.Handler.ReadBuffer).
func (c *conn) readBuffer(h sink.Handler) ([]byte, error) {
	if h == nil {
		return nil, nil
	}
	return h.ReadBuffer()
}

// deliverInPlace delivers data to the adapter h, which borrows it: a read
// into the protocol's own buffer (readBuffer) or into one deliverData
// gives back after. It reports whether reading goes on.
func (c *conn) deliverInPlace(h sink.Handler, data []byte) bool {
	c.stats.read.Add(int64(len(data)))
	if c.handover(h, data) {
		return false
	}
	c.deliver(h, stream.Event{Kind: stream.Data, Data: data})
	return true
}

// readZero handles a read of 0 bytes: the peer's EOF, unless a failed
// write ended the transport first or took a reset. Linux reports a reset
// once: when the flush's write takes it, reads then return 0. Only a
// transport with writes in flight can be in that case, and it has not
// sent its FIN (the flush sends it under c.mu), so TCP_CLOSE means a
// reset. Everything is decided under c.mu, so that a failure cannot slip
// in between (it closes the descriptor only after taking c.mu). Asking
// the kernel costs a getsockopt, at the end of a stream only.
func (c *conn) readZero(h sink.Handler) {
	c.mu.Lock()
	open, reset := c.state == stateOpen, c.resetLocked()
	c.mu.Unlock()
	switch {
	case !open:
	case reset:
		c.readFailed(syscall.ECONNRESET)
	default:
		c.eof(h)
	}
}

// resetLocked reports whether a read of 0 bytes means a reset (see
// readZero). c.mu is held.
func (c *conn) resetLocked() bool {
	return c.state == stateOpen && c.flushing && c.fd.TCPClosed()
}

// deliverData delivers the n bytes read into buf and gives buf back. The
// adapter borrows buf for the duration of the call (DataReceived must not
// keep it, like io.Writer's Write) and holds it back itself while reading
// is paused. A channel consumer owns its Data, so it gets a copy, or buf
// itself with WithPooledData (handed); a chunk read just as reading was
// paused waits for the resume; after a local close it is dropped, after a
// failure delivered before Lost. It reports whether reading goes on.
func (c *conn) deliverData(h sink.Handler, buf *bufpool.Buf, n int) bool {
	if h != nil {
		more := c.deliverInPlace(h, buf.Bytes()[:n])
		buf.Put()
		return more
	}
	c.stats.read.Add(int64(n))
	e := c.handed(stream.Event{Kind: stream.Data}, buf, n)
	for {
		readable := c.waitReadable()
		switch {
		case !readable && c.ReadDropped(0): // closed locally: no data after close
			e.Release()
			return false
		case readable && c.handover(nil, e.Data):
			e.Release()
			return false
		}
		sent, woken := c.q.SendData(e, c.wakeC)
		if !woken {
			return sent && readable // failed meanwhile: delivered, then Lost
		}
	}
}

// handover gives a chunk read as plain text to a StartTLS that asked
// meanwhile: it is handshake input, not data (see StartTLS). The upgrade
// runs here, then the TLS read loop. It reports whether it took p.
func (c *conn) handover(h sink.Handler, p []byte) bool {
	if c.readingTLS || !c.tlsOn.Load() {
		return false
	}
	c.upgradeReader(h, bytes.Clone(p))
	return true
}

// eof delivers EOF and, without WithHalfClose, closes the transport once
// the consumer has handled everything before EOF, so that what it writes
// in reply to that data is still sent (asyncio closes after
// data_received and eof_received have returned). The adapter always asks
// for half-close, and has handled EOF when Event returns; a channel
// consumer has when it takes EOF, which conclude learns. It reports
// false, delivering nothing, once the transport is closing.
func (c *conn) eof(h sink.Handler) bool {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return false
	}
	c.eofRead = true
	half := c.halfClosesLocked()
	c.mu.Unlock()
	c.deliver(h, stream.Event{Kind: stream.EOF})
	c.afterEOF(h, half)
	return true
}

// halfClosesLocked reports whether the transport stays half-open after
// the peer's EOF: a read pipe always closes, and TLS before 1.3 cannot
// half-close. c.mu is held.
func (c *conn) halfClosesLocked() bool {
	return c.halfClose && c.pipe != readPipe && (c.sec == nil || c.sec.halfCloses())
}

// afterEOF is eof's part once EOF is delivered: it closes the transport
// unless it stays half-open.
func (c *conn) afterEOF(h sink.Handler, half bool) {
	switch {
	case half && h == nil:
		c.q.Reopen() // flow events follow EOF
	case half:
	case h != nil || c.conclude():
		c.close(false)
	}
}

// conclude waits until the channel consumer takes EOF, by sending Lost
// behind it (queue.Conclude), and reports true then: Lost is delivered,
// and the transport closes. Until the consumer has received that Lost,
// writes go on (what it writes in reply to the data before EOF); after,
// they are refused (writeErrLocked). It reports false when the transport
// failed or was closed first: its Lost is delivered as usual.
func (c *conn) conclude() bool {
	c.mu.Lock()
	c.concluding = true
	c.ensureWakeLocked()
	wake := c.wakeC
	c.mu.Unlock()
	for !c.q.Conclude(wake) {
		c.mu.Lock()
		open := c.state == stateOpen
		c.mu.Unlock()
		if !open {
			return false
		}
	}
	c.mu.Lock()
	c.lostSent = true
	c.mu.Unlock()
	return true
}

// lostGoneLocked reports whether the channel consumer has received the
// Lost that concluded its stream after EOF, before the close it starts
// has begun: the transport is closing for it already. c.mu is held.
func (c *core) lostGoneLocked() bool {
	return c.concluding && !c.q.Holding()
}
