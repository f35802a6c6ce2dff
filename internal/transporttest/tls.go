package transporttest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// What differs when the Pair's Peer is a *tls.Conn: the suite's checks
// stay the same, and these helpers play the peer's part that TLS adds.

// tlsPeer returns the peer as a *tls.Conn, or nil for a plain socket.
func (p Pair) tlsPeer() *tls.Conn {
	tc, _ := p.Peer.(*tls.Conn)
	return tc
}

// raw returns the peer's socket: Peer itself, or the connection under a
// TLS peer (to reset it, or to close it without close_notify).
func (p Pair) raw() net.Conn {
	if tc := p.tlsPeer(); tc != nil {
		return tc.NetConn()
	}
	return p.Peer
}

// halfCloses reports whether the connection can be half-closed, so that
// CanWriteEOF is true, WriteEOF works and WithHalfClose keeps the
// transport open after the peer's EOF: always on a plain socket, from
// TLS 1.3 on with TLS (a close_notify closes both directions before).
// The peer says which version was negotiated, not the transport.
func (p Pair) halfCloses() bool {
	tc := p.tlsPeer()
	return tc == nil || tc.ConnectionState().Version >= tls.VersionTLS13
}

// answerClose plays the peer's part in a Close of the transport. Over
// TLS the transport sends close_notify and waits for the peer's before
// it ends: the peer reads up to the transport's close_notify (a clean
// EOF: a close without one fails the test, asyncio T3), dropping what
// comes before, and answers with its own. A plain peer has nothing to
// do: the transport must end without it.
func answerClose(t testing.TB, p Pair) {
	t.Helper()
	tc := p.tlsPeer()
	if tc == nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(waitTimeout))
	defer tc.SetReadDeadline(time.Time{})
	if _, err := io.Copy(io.Discard, tc); err != nil {
		t.Fatalf("TLS peer reading up to the transport's close_notify: %v", err)
	}
	if err := tc.CloseWrite(); err != nil {
		t.Fatalf("TLS peer answering with its close_notify: %v", err)
	}
}

// isCut reports whether err is how the peer sees a connection that
// ended without a clean close (an Abort): a reset, or over TLS a close
// without close_notify (crypto/tls's io.ErrUnexpectedEOF, which a plain
// socket's Read never returns).
func isCut(err error) bool {
	return isReset(err) || errors.Is(err, io.ErrUnexpectedEOF)
}

// tlsChunk is what floodTLS writes at a time: one full TLS record.
const tlsChunk = 16 << 10

// floodTLS is flood for a TLS peer. A TLS write cut by a deadline leaves
// half a record on the wire, and crypto/tls refuses every later write:
// so each write runs without a deadline in a goroutine, and a write that
// has not returned within stallWindow means the connection stalled. That
// write stays pending (off counts it already: it finishes once the
// transport reads again); settle waits for it.
func (w *peerOut) floodTLS(t testing.TB, limit int64) (stalled bool) {
	t.Helper()
	for start := w.off; ; {
		if w.pending == nil {
			if w.off-start >= limit {
				return false
			}
			w.pending = writeAsync(w.c, pattern(w.off, tlsChunk))
			w.off += tlsChunk
		}
		select {
		case err := <-w.pending:
			w.pending = nil
			if err != nil {
				t.Fatalf("peer write before byte %d: %v", w.off, err)
			}
		case <-time.After(stallWindow):
			return true
		}
	}
}

// writeAsync writes b to c in a goroutine; the error (or nil) arrives on
// the channel.
func writeAsync(c net.Conn, b []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(b)
		done <- err
	}()
	return done
}

// settle waits for the write a flood left pending, if any: the transport
// must be reading.
func (w *peerOut) settle(t testing.TB) {
	t.Helper()
	if w.pending == nil {
		return
	}
	err := recvErr(t, w.pending, "the peer's pending write")
	w.pending = nil
	if err != nil {
		t.Fatalf("peer write before byte %d: %v", w.off, err)
	}
}

// close settles the peer's writes, then closes it: with a write pending
// crypto/tls would close without close_notify.
func (w *peerOut) close(t testing.TB) {
	t.Helper()
	w.settle(t)
	w.c.Close()
}
