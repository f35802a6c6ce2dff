package transport

import (
	"crypto/tls"
	"errors"
	"io"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
)

// secure is a conn's TLS layer, once its handshake is done. crypto/tls
// runs unmodified over a wire (tls_wire.go): its records go through the
// conn's own write path (sent at once, the rest buffered and flushed),
// and its reads through the conn's descriptor, on the read goroutine.
type secure struct {
	tc       *tls.Conn
	w        *wire
	config   *tls.Config // the caller's, for InfoSSLContext
	state    tls.ConnectionState
	shutdown time.Duration

	notified bool    // close_notify is queued; guarded by the conn's mu
	reading  bool    // a goroutine reads tc (see tlsReadLoop); guarded by the conn's mu
	first    [1]byte // the read goroutine's: see tlsRead
}

// read is tc.Read. A post-handshake message runs config callbacks on the
// reading goroutine (a session ticket, a ClientSessionCache's Put; a TLS
// 1.2 renegotiation, every client callback): a panic there is recovered
// as a *PanicError, which ends the transport.
func (s *secure) read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, newPanicError(v)
		}
	}()
	return s.tc.Read(p)
}

// halfCloses reports whether close_notify closes only one direction
// (TLS 1.3): then the transport can write after the peer's, and
// WriteEOF works.
func (s *secure) halfCloses() bool { return s.state.Version >= tls.VersionTLS13 }

// ExtraInfo implements BaseTransport: a TLS transport adds its own keys
// (see DialTLS) to the socket's.
func (c *conn) ExtraInfo(name string) (any, bool) {
	c.mu.Lock()
	s := c.sec
	c.mu.Unlock()
	if s != nil {
		if v, ok, handled := tlsInfo(&s.state, s.config, name); handled {
			return v, ok
		}
	}
	return c.info.get(name)
}

// ConnectionState implements Transport.
func (c *conn) ConnectionState() (tls.ConnectionState, bool) {
	c.mu.Lock()
	s := c.sec
	c.mu.Unlock()
	if s == nil {
		return tls.ConnectionState{}, false
	}
	return s.state, true
}

// tlsWrite encrypts p (or bufs) through crypto/tls, whose records take
// the conn's write path; while StartTLS runs it holds a copy instead, to
// be encrypted after the handshake. c.mu is held; tlsWrite releases it.
// A record never waits for the socket, so tlsWrite never blocks.
func (c *conn) tlsWrite(p []byte, bufs [][]byte, total int64) (int64, error) {
	if c.up != nil {
		c.holdLocked(p, bufs, total)
		return total, nil
	}
	s := c.sec
	c.mu.Unlock()
	var err error
	if bufs == nil {
		_, err = s.tc.Write(p)
	} else {
		_, err = s.tc.Write(joinBufs(bufs, total))
	}
	c.noteFlow()
	if err != nil {
		return 0, c.tlsWriteFailed(err)
	}
	return total, nil
}

// joinBufs makes one buffer of bufs, so that they make as few records as
// one Write of the same bytes.
func joinBufs(bufs [][]byte, total int64) []byte {
	p := make([]byte, 0, total)
	for _, b := range bufs {
		p = append(p, b...)
	}
	return p
}

// tlsWriteFailed returns what a write that crypto/tls refused returns:
// the transport's own error once it is closing, or after WriteEOF;
// otherwise the TLS error, which ends the transport.
func (c *conn) tlsWriteFailed(err error) error {
	if werr := c.writeErr(); werr != nil {
		return werr
	}
	c.shut(err)
	return c.writeErr()
}

// holdLocked keeps a copy of a write made while StartTLS runs; it counts
// as buffered. c.mu is held; holdLocked releases it.
func (c *conn) holdLocked(p []byte, bufs [][]byte, total int64) {
	if bufs == nil {
		c.up.held = append(c.up.held, append([]byte(nil), p...))
	} else {
		c.up.held = append(c.up.held, joinBufs(bufs, total))
	}
	tr := c.flow.Add(int(total))
	c.flowLocked(tr)
	h := c.handler
	c.mu.Unlock()
	c.afterFlow(h, tr)
}

// noteFlow tells the adapter about a pause or resume that a record
// caused inside crypto/tls, where it could not (a PauseWriting callback
// that writes would deadlock on crypto/tls's lock).
func (c *conn) noteFlow() {
	if !c.flowNoted.Swap(false) {
		return
	}
	if h := c.Handler(); h != nil {
		h.FlowChanged()
	}
}

// tlsWriteEOF sends close_notify: a half-close under TLS 1.3. c.mu is
// held; tlsWriteEOF releases it.
func (c *conn) tlsWriteEOF() error {
	var err error
	switch {
	case c.state != stateOpen:
		err = c.deadErr
	case c.lostGoneLocked():
		err = errClosedLocally
	case c.eofWritten:
	case c.up != nil:
		err = errUpgrading
	case !c.sec.halfCloses():
		err = errHalfCloseTLS12
	default:
		c.eofWritten = true
		s := c.sec
		c.mu.Unlock()
		if err := s.tc.CloseWrite(); err != nil {
			c.noteFlow()
			return c.tlsWriteFailed(err)
		}
		c.noteFlow()
		return nil
	}
	c.mu.Unlock()
	return err
}

// closeStarted finishes Close (core.close's onClose): a plain conn shuts
// at once when nothing is buffered; a TLS conn sends close_notify and
// waits for the peer's, bounded by the shutdown timeout; a conn in the
// middle of StartTLS aborts it.
func (c *conn) closeStarted(now bool) {
	c.mu.Lock()
	s, upgrading := c.sec, c.up != nil
	c.mu.Unlock()
	switch {
	case upgrading:
		c.shut(nil)
	case s != nil:
		c.tlsClose(s)
	case now:
		c.shut(nil)
	}
}

// tlsClose queues close_notify after every record and waits for the
// peer's, with a timer. The read goroutine reads it (tlsLinger) when it
// reads already; otherwise (nobody claimed the events, or the read
// goroutine has not begun reading) Close starts a goroutine that does,
// so that the transport ends as soon as the peer answers, claimed or
// not. A claim after that sees Made and Lost.
func (c *conn) tlsClose(s *secure) {
	err := s.tc.CloseWrite()
	c.noteFlow()
	c.mu.Lock()
	if c.state != stateClosing {
		c.mu.Unlock()
		return
	}
	s.notified = true
	done := c.tlsClosedLocked() && !c.flushing
	linger := !done && err == nil && !s.reading
	if linger {
		s.reading = true
	}
	if !done && err == nil {
		c.timer = time.AfterFunc(s.shutdown, func() { c.shut(ErrShutdownTimeout) })
	}
	c.mu.Unlock()
	switch {
	case done || err != nil:
		c.shut(nil)
	case linger:
		go c.tlsLinger(s)
	}
}

// tlsClosedLocked reports whether a closing TLS conn is done once its
// buffer is flushed: close_notify queued and the peer's side ended.
func (c *conn) tlsClosedLocked() bool { return c.sec.notified && c.eofRead }

// tlsReadLoop is the read goroutine's work over TLS: decrypt, deliver,
// and tell close_notify (EOF) from a bare FIN (truncation). A transport
// has one TLS reader: when Close came first (tlsClose), Close's goroutine
// reads, and this one only waits for the end.
func (c *conn) tlsReadLoop(h sink.Handler) {
	c.mu.Lock()
	s := c.sec
	if s.reading {
		c.mu.Unlock()
		return
	}
	s.reading = true
	c.noRead.Store(c.state != stateOpen || c.readPaused)
	c.mu.Unlock()
	s.w.stoppable = true
	for c.waitReadable() {
		buf, n, err := c.tlsRead(s)
		if n > 0 && !c.deliverData(h, buf, n) {
			break
		}
		if err != nil && !c.tlsReadFailed(h, s, err) {
			return
		}
	}
	c.tlsLinger(s)
}

// tlsRead reads what one record holds, as Read does without TLS: it
// waits with a one-byte read, so that an idle connection holds no read
// buffer, then borrows one for the rest, which crypto/tls has decrypted
// already (a read that would wait again stops: errStopped is dropped).
// One tls.Conn.Read returns one record's plaintext at most: the buffer
// is record-sized.
// buf is nil when n is 0.
func (c *conn) tlsRead(s *secure) (buf *bufpool.Buf, n int, err error) {
	n, err = s.read(s.first[:])
	if n == 0 {
		c.noteFlow()
		return nil, 0, err
	}
	buf = sock.GetSmallBuf() // a record at most
	buf.Bytes()[0] = s.first[0]
	s.w.noWait = true
	more, rerr := s.read(buf.Bytes()[1:min(c.readCap, sock.SmallRead)])
	s.w.noWait = false
	c.noteFlow()
	if err == nil && !errors.Is(rerr, errStopped) {
		err = rerr
	}
	return buf, 1 + more, err
}

// tlsReadFailed handles a read error; it reports whether reading goes on.
// The peer's end (close_notify, or a FIN) found by a read that began
// before Close completes the close, as in tlsLinger: no EOF after Close.
func (c *conn) tlsReadFailed(h sink.Handler, s *secure, err error) bool {
	switch {
	case errors.Is(err, errStopped):
		return true // paused or closing: waitReadable decides
	case isPanic(err):
		c.shut(err)
		return false
	case errors.Is(err, io.EOF) && !s.w.sawEOF:
		if c.eof(h) { // close_notify
			return false
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if !c.IsClosing() {
			c.shut(c.opError("read", ErrTruncated))
			return false
		}
	default:
		c.readFailed(err)
		return false
	}
	c.tlsLinger(s)
	return false
}

// tlsLinger reads, after Close, until the peer's close_notify (or its
// end, or an error), dropping the data, then finishes the close; the
// shutdown timer bounds it. Its small buffer is all it holds while it
// waits (crypto/tls keeps the record itself).
func (c *conn) tlsLinger(s *secure) {
	c.mu.Lock()
	wait := c.state == stateClosing && !c.eofRead
	c.mu.Unlock()
	if !wait {
		return
	}
	s.w.stoppable = false
	buf := make([]byte, 512)
	var err error
	for err == nil {
		_, err = s.read(buf)
	}
	c.noteFlow()
	if isPanic(err) {
		c.shut(err)
		return
	}
	c.mu.Lock()
	c.eofRead = true
	done := c.state == stateClosing && c.tlsClosedLocked() && !c.flushing
	c.mu.Unlock()
	if done {
		c.shut(nil)
	}
}
