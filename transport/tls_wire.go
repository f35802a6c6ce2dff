package transport

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/sock"
)

// wire is the net.Conn crypto/tls runs over: the conn's socket, seen
// through the conn's machinery.
//
// Write takes the conn's write path: the record is sent at once if the
// kernel takes it, and the rest is buffered for the flush goroutine, so
// crypto/tls never waits for the socket (its writes are counted by
// WriteBufferSize, encrypted). Read reads the descriptor on the read
// goroutine (or the handshake's), first replaying what was read before
// StartTLS. When reading is paused or closing (or, with noWait, when it
// would have to wait), a read stops with errStopped, a temporary
// net.Error that crypto/tls does not keep: the next Read resumes the
// record where it was.
type wire struct {
	c      *conn
	prefix []byte // read before the upgrade: handshake input

	// Used by the goroutine reading only.
	stoppable bool // pause and close stop a read (not while handshaking)
	noWait    bool // a read that would wait stops instead
	sawEOF    bool // the socket said EOF: a TLS EOF then is a truncation
}

var _ net.Conn = (*wire)(nil)

// errStopped is what a wire read returns when the conn's reading is
// paused or closing.
var errStopped error = stoppedError{}

type stoppedError struct{}

func (stoppedError) Error() string   { return "transport: read stopped" }
func (stoppedError) Timeout() bool   { return true }
func (stoppedError) Temporary() bool { return true }

// errHandshakeAborted is what a wire read returns once Close (by
// crypto/tls, when the handshake's context ends) interrupted it.
var errHandshakeAborted = errors.New("transport: TLS handshake interrupted")

// Read implements net.Conn.
func (w *wire) Read(p []byte) (int, error) {
	if len(w.prefix) > 0 {
		n := copy(p, w.prefix)
		if w.prefix = w.prefix[n:]; len(w.prefix) == 0 {
			w.prefix = nil
		}
		return n, nil
	}
	var n int
	var err error
	if w.noWait {
		n, err = w.c.fd.TryReadInto(p)
	} else {
		n, err = w.c.fd.ReadInto(p, w.stoppable)
	}
	switch {
	case errors.Is(err, sock.ErrStopped), errors.Is(err, sock.ErrWouldBlock):
		return 0, errStopped
	case errors.Is(err, sock.ErrInterrupted):
		return 0, errHandshakeAborted
	case err != nil:
		return 0, err
	case n == 0:
		w.c.mu.Lock()
		reset := w.c.resetLocked()
		w.c.mu.Unlock()
		if reset {
			return 0, syscall.ECONNRESET
		}
		w.sawEOF = true
		return 0, io.EOF
	}
	return n, nil
}

// Write implements net.Conn: it never blocks. Records are accepted until
// the descriptor is closed, so that Close's close_notify goes out.
func (w *wire) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	if c.state == stateDone {
		err := c.deadErr
		c.mu.Unlock()
		return 0, err
	}
	tr, err := c.sendLocked(p, nil, int64(len(p)))
	if tr != flow.Unchanged {
		c.flowNoted.Store(true)
	}
	// Closing after the peer's close_notify, what fails to go out now is
	// our close_notify: the peer, gone, wanted nothing more (a failing
	// flush of data still reports its error: it does not come here).
	clean := c.state == stateClosing && c.eofRead
	c.mu.Unlock()
	if err != nil {
		err = c.opError("write", err)
		if clean {
			c.shut(nil)
		} else {
			c.shut(err)
		}
		return 0, err
	}
	return len(p), nil
}

// Close implements net.Conn. crypto/tls calls it only when a handshake's
// context ends: it interrupts the handshake's read, and the handshake's
// caller closes the conn.
func (w *wire) Close() error { return w.c.fd.Interrupt() }

// LocalAddr implements net.Conn.
func (w *wire) LocalAddr() net.Addr { return w.c.info.local }

// RemoteAddr implements net.Conn.
func (w *wire) RemoteAddr() net.Addr { return w.c.info.peer }

// SetDeadline implements net.Conn; deadlines do not apply (writes never
// wait, the timeouts bound reads).
func (w *wire) SetDeadline(time.Time) error { return nil }

// SetReadDeadline implements net.Conn, as SetDeadline.
func (w *wire) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline implements net.Conn, as SetDeadline.
func (w *wire) SetWriteDeadline(time.Time) error { return nil }
