package transport

import (
	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/writebuf"
)

// Write implements WriteTransport.
func (c *conn) Write(p []byte) (int, error) {
	if _, err := c.write(p, nil); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteBuffers implements WriteTransport.
func (c *conn) WriteBuffers(bufs [][]byte) (int64, error) {
	return c.write(nil, bufs)
}

// write is Write (p) and WriteBuffers (bufs): the same checks, then a
// non-blocking send when nothing is buffered, then a copy of the rest.
// Over TLS the records go that way (see tlsWrite).
func (c *conn) write(p []byte, bufs [][]byte) (int64, error) {
	total := int64(len(p))
	for _, b := range bufs {
		total += int64(len(b))
	}
	c.mu.Lock()
	if err := c.writeErrLocked(); err != nil {
		c.mu.Unlock()
		return 0, err
	}
	if total == 0 {
		c.mu.Unlock()
		return 0, nil
	}
	if c.up != nil || c.sec != nil {
		return c.tlsWrite(p, bufs, total) // releases c.mu
	}
	tr, err := c.sendLocked(p, bufs, total)
	h := c.handler
	c.mu.Unlock()
	if err != nil {
		c.shut(c.opError("write", err))
		return 0, c.writeErr()
	}
	c.afterFlow(h, tr)
	return total, nil
}

// sendLocked sends at once what the kernel takes when nothing is
// buffered, and buffers the rest for the flush goroutine. c.mu is held.
func (c *conn) sendLocked(p []byte, bufs [][]byte, total int64) (flow.Transition, error) {
	pushed := flow.Unchanged
	if c.loopFlushing { // a loop flushes: try the socket now, in order
		var err error
		if pushed, err = c.pushLocked(); err != nil {
			return flow.Unchanged, err
		}
	}
	sent := 0
	if !c.flushing {
		var err error
		if sent, err = c.trySend(p, bufs); err != nil {
			return flow.Unchanged, err
		}
		c.stats.written += int64(sent)
		if int64(sent) == total {
			return pushed, nil
		}
	}
	c.appendUnsent(p, bufs, sent)
	tr := c.flow.Add(int(total) - sent)
	c.flowLocked(tr)
	if !c.flushing {
		c.flushing = true
		c.kickFlushLocked()
	}
	if tr == flow.Unchanged {
		tr = pushed // the adapter reads the write state itself
	}
	return tr, nil
}

// trySend writes without waiting; c.mu is held and nothing is buffered.
func (c *conn) trySend(p []byte, bufs [][]byte) (int, error) {
	if bufs == nil {
		return c.fd.TryWrite(p)
	}
	views := c.views[:0]
	for _, b := range bufs {
		if len(b) > 0 && len(views) < writebuf.MaxViews {
			views = append(views, b)
		}
	}
	n, err := c.fd.TryWritev(views)
	clear(views)
	c.views = views[:0]
	return n, err
}

// appendUnsent copies what the kernel did not take (all but the first
// sent bytes) into the buffer.
func (c *conn) appendUnsent(p []byte, bufs [][]byte, sent int) {
	if bufs == nil {
		c.buf.Append(p[sent:])
		return
	}
	for _, b := range bufs {
		k := min(sent, len(b))
		sent -= k
		c.buf.Append(b[k:])
	}
}

// writeErrLocked returns the error a write gets now, if any.
func (c *conn) writeErrLocked() error {
	switch {
	case c.pipe == readPipe:
		return errReadPipe
	case c.state != stateOpen:
		return c.deadErr
	case c.lostGoneLocked():
		return errClosedLocally
	case c.eofWritten:
		return ErrEOFWritten
	}
	return nil
}

func (c *conn) writeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeErrLocked()
}

// flush is the goroutine that writes the buffer out, waiting for the
// socket to become writable, while the buffer is not empty; then it
// finishes a pending WriteEOF or Close.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		if c.state == stateDone {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if c.buf.Len() == 0 {
			c.flushing = false
			c.emptiedLocked()
			c.flushed()
			return
		}
		views := c.buf.Views(c.views[:0])
		c.mu.Unlock()

		n, err := c.fd.Writev(views)
		clear(views)

		c.mu.Lock()
		c.views = views[:0]
		if err != nil {
			c.mu.Unlock()
			c.shut(c.opError("write", err))
			return
		}
		if c.state == stateDone { // aborted meanwhile: the buffer is gone
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.buf.Consume(n)
		c.stats.written += int64(n)
		tr := c.flow.Sub(n)
		c.flowLocked(tr)
		h := c.handler
		c.mu.Unlock()
		c.afterFlow(h, tr)
	}
}

// flushed runs when the buffer is empty: it finishes a pending WriteEOF
// or Close. c.mu is held; flushed releases it.
func (c *conn) flushed() {
	closing, eof := c.state == stateClosing, c.eofWritten
	if c.sec != nil { // TLS: close_notify went with the records
		done := closing && c.tlsClosedLocked()
		c.mu.Unlock()
		if done {
			c.shut(nil)
		}
		return
	}
	var err error
	if eof && !closing {
		err = c.nc.CloseWrite()
	}
	c.mu.Unlock()
	switch {
	case closing:
		c.shut(nil)
	case err != nil:
		c.shut(c.opError("shutdown", err))
	}
}

// WriteEOF implements WriteTransport. Over TLS 1.3 it sends close_notify
// after the buffered records, which half-closes; under TLS 1.2 it returns
// an error wrapping errors.ErrUnsupported.
func (c *conn) WriteEOF() error {
	switch c.pipe {
	case readPipe:
		return errReadPipe
	case writePipe:
		return c.Close() // asyncio: write_eof is close on a write pipe
	}
	c.mu.Lock()
	if c.up != nil || c.sec != nil {
		return c.tlsWriteEOF() // releases c.mu
	}
	defer c.mu.Unlock()
	switch {
	case c.state != stateOpen:
		return c.deadErr
	case c.lostGoneLocked():
		return errClosedLocally
	case c.eofWritten:
		return nil
	}
	c.eofWritten = true
	if c.flushing {
		return nil // the flush goroutine shuts down the write side
	}
	if err := c.nc.CloseWrite(); err != nil {
		return c.opError("shutdown", err)
	}
	return nil
}

// CanWriteEOF implements WriteTransport: true but for a read pipe and
// TLS before 1.3.
func (c *conn) CanWriteEOF() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pipe != readPipe && (c.sec == nil || c.sec.halfCloses())
}
