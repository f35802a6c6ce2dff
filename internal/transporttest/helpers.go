package transporttest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// waitTimeout guards every wait: a test that waits longer fails.
const waitTimeout = 10 * time.Second

// stallWindow is how long a peer's write must make no progress at all
// for the suite to call the connection stalled. A premature verdict only
// makes the checks that follow more lenient, never wrong.
const stallWindow = 300 * time.Millisecond

// maxRead is the largest read a transport makes (sock.MaxRead): "one
// read" in RD2.
const maxRead = 64 << 10

// next returns the next event; ok is false once the channel is closed.
// It fails the test when nothing comes within waitTimeout.
func next(t testing.TB, ch <-chan stream.Event) (e stream.Event, ok bool) {
	t.Helper()
	select {
	case e, ok = <-ch:
		return e, ok
	case <-time.After(waitTimeout):
		t.Fatalf("no event within %v", waitTimeout)
		return e, false
	}
}

// expect returns the next event and fails the test unless it has kind k.
func expect(t testing.TB, ch <-chan stream.Event, k stream.Kind) stream.Event {
	t.Helper()
	e, ok := next(t, ch)
	if !ok {
		t.Fatalf("channel closed, want %v", k)
	}
	if e.Kind != k {
		t.Fatalf("got event %v, want %v", e, k)
	}
	return e
}

// expectLost skips flow-control events and returns the Lost event,
// checking that the channel is closed after it.
func expectLost(t testing.TB, ch <-chan stream.Event) stream.Event {
	t.Helper()
	e := NextNonFlow(t, ch)
	if e.Kind != stream.Lost {
		t.Fatalf("got event %v, want Lost", e)
	}
	expectClosed(t, ch)
	return e
}

// expectClosed fails the test unless the channel is closed with nothing
// left in it.
func expectClosed(t testing.TB, ch <-chan stream.Event) {
	t.Helper()
	if e, ok := next(t, ch); ok {
		t.Fatalf("got event %v after Lost, want the channel closed", e)
	}
}

// NextNonFlow returns the next event that is not PauseWriting or
// ResumeWriting; it fails the test if the channel closes first.
func NextNonFlow(t testing.TB, ch <-chan stream.Event) stream.Event {
	t.Helper()
	for {
		e, ok := next(t, ch)
		if !ok {
			t.Fatalf("channel closed without Lost")
		}
		if !isFlow(e.Kind) {
			return e
		}
	}
}

func isFlow(k stream.Kind) bool { return k == stream.PauseWriting || k == stream.ResumeWriting }

// collect returns every event until the channel closes.
func collect(t testing.TB, ch <-chan stream.Event) []stream.Event {
	t.Helper()
	var evs []stream.Event
	for {
		e, ok := next(t, ch)
		if !ok {
			return evs
		}
		evs = append(evs, e)
	}
}

// checkTrace checks a complete event trace against LC1, LC2 and RD1: Made
// first and once, Lost last and once, Data non-empty and only before EOF,
// EOF at most once, flow events alternating from PauseWriting.
func checkTrace(t testing.TB, evs []stream.Event) {
	t.Helper()
	if len(evs) < 2 || evs[0].Kind != stream.Made || evs[len(evs)-1].Kind != stream.Lost {
		t.Fatalf("trace %v: want Made first and Lost last", evs)
	}
	paused, eof := false, false
	for i, e := range evs {
		switch e.Kind {
		case stream.Made:
			if i != 0 {
				t.Fatalf("trace %v: Made at %d", evs, i)
			}
		case stream.Lost:
			if i != len(evs)-1 {
				t.Fatalf("trace %v: Lost at %d", evs, i)
			}
		case stream.Data:
			if eof {
				t.Fatalf("trace %v: Data after EOF", evs)
			}
			if len(e.Data) == 0 {
				t.Fatalf("trace %v: empty Data at %d", evs, i)
			}
		case stream.EOF:
			if eof {
				t.Fatalf("trace %v: EOF twice", evs)
			}
			eof = true
		case stream.PauseWriting, stream.ResumeWriting:
			if (e.Kind == stream.PauseWriting) == paused {
				t.Fatalf("trace %v: %v at %d does not alternate", evs, e.Kind, i)
			}
			paused = !paused
		default:
			t.Fatalf("trace %v: unexpected %v on a stream transport", evs, e)
		}
	}
}

// kinds lists the kinds of a trace, for messages.
func kinds(evs []stream.Event) []stream.Kind {
	ks := make([]stream.Kind, len(evs))
	for i, e := range evs {
		ks[i] = e.Kind
	}
	return ks
}

// isClosed reports whether ch is closed (Writable: not paused).
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// checkEnded checks, once Lost was received, that Done is closed (Lost
// comes after it) and that Err is Lost's error.
func checkEnded(t testing.TB, tr transport.BaseTransport, lostErr error) {
	t.Helper()
	if !isClosed(tr.Done()) {
		t.Fatalf("Done not closed after Lost")
	}
	if err := tr.Err(); err != lostErr {
		t.Fatalf("Err() = %v after Lost(%v), want Lost's error", err, lostErr)
	}
}

// recvErr waits for one error from ch, failing the test after waitTimeout.
func recvErr(t testing.TB, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("%s: no result within %v", what, waitTimeout)
		return nil
	}
}

// pattern returns n bytes of the suite's byte pattern from offset off: a
// sequence with no short period, so that a lost, repeated or reordered
// chunk shows.
func pattern(off int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		x := off + int64(i)
		b[i] = byte(x*7 ^ x>>8 ^ x>>17)
	}
	return b
}

// checkPattern fails the test unless b is the pattern at off.
func checkPattern(t testing.TB, b []byte, off int64) {
	t.Helper()
	if want := pattern(off, len(b)); !bytes.Equal(b, want) {
		i := 0
		for i < len(b) && b[i] == want[i] {
			i++
		}
		t.Fatalf("byte %d of the stream is %#x, want %#x", off+int64(i), b[i], want[i])
	}
}

// out writes the pattern through a transport.
type out struct {
	tr  transport.Transport
	off int64 // bytes written so far
}

// write writes the next n pattern bytes with Write.
func (w *out) write(t testing.TB, n int) {
	t.Helper()
	got, err := w.tr.Write(pattern(w.off, n))
	if err != nil || got != n {
		t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", n, got, err, n)
	}
	w.off += int64(n)
}

// fill writes pattern bytes until the transport buffers some: the kernel
// takes no more. The peer must not be reading.
func (w *out) fill(t testing.TB) {
	t.Helper()
	for w.tr.WriteBufferSize() == 0 {
		if w.off > 1<<30 {
			t.Fatalf("wrote %d bytes and the transport buffered none: is the peer reading?", w.off)
		}
		w.write(t, 64<<10)
	}
}

// backUp fills the kernel (fill), then writes 1 MiB more, so that the
// transport holds a buffer the kernel cannot take while the peer does not
// read.
func (w *out) backUp(t testing.TB) {
	t.Helper()
	w.fill(t)
	w.write(t, 1<<20)
}

// in reads the pattern from a connection.
type in struct {
	c   net.Conn
	off int64 // bytes read so far
}

// read reads exactly n pattern bytes.
func (r *in) read(t testing.TB, n int64) {
	t.Helper()
	r.c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer r.c.SetReadDeadline(time.Time{})
	buf := make([]byte, 64<<10)
	for n > 0 {
		k, err := io.ReadFull(r.c, buf[:min(int64(len(buf)), n)])
		checkPattern(t, buf[:k], r.off)
		r.off += int64(k)
		n -= int64(k)
		if err != nil {
			t.Fatalf("peer read at byte %d: %v", r.off, err)
		}
	}
}

// readToEOF reads pattern bytes until EOF and returns how many it read.
// Any error other than io.EOF fails the test unless tolerate says it is
// expected (a reset after an abort, say).
func (r *in) readToEOF(t testing.TB, tolerate func(error) bool) int64 {
	t.Helper()
	r.c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer r.c.SetReadDeadline(time.Time{})
	start := r.off
	buf := make([]byte, 64<<10)
	for {
		k, err := r.c.Read(buf)
		checkPattern(t, buf[:k], r.off)
		r.off += int64(k)
		switch {
		case err == io.EOF:
			return r.off - start
		case err != nil && tolerate != nil && tolerate(err):
			return r.off - start
		case err != nil:
			t.Fatalf("peer read at byte %d: %v", r.off, err)
		}
	}
}

// discardToEOF reads whatever comes until EOF or a cut (isCut).
func discardToEOF(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	defer c.SetReadDeadline(time.Time{})
	if _, err := io.Copy(io.Discard, c); err != nil && !isCut(err) {
		t.Fatalf("peer read: %v", err)
	}
}

// flood writes pattern bytes from c until the connection stalls (a write
// makes no progress for stallWindow) or limit bytes went out; it reports
// whether it stalled. A TLS peer floods with floodTLS.
func (w *peerOut) flood(t testing.TB, limit int64) (stalled bool) {
	t.Helper()
	if _, ok := w.c.(*tls.Conn); ok {
		return w.floodTLS(t, limit)
	}
	defer w.c.SetWriteDeadline(time.Time{})
	for start := w.off; w.off-start < limit; {
		w.c.SetWriteDeadline(time.Now().Add(stallWindow))
		n, err := w.c.Write(pattern(w.off, 64<<10))
		w.off += int64(n)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			if n == 0 {
				return true
			}
		default:
			t.Fatalf("peer write at byte %d: %v", w.off, err)
		}
	}
	return false
}

// peerOut writes the pattern from the peer.
type peerOut struct {
	c   net.Conn
	off int64 // bytes the kernel accepted so far, with pending's
	// pending is a TLS peer's write still running, left by floodTLS.
	pending <-chan error
}

// write writes the next n pattern bytes.
func (w *peerOut) write(t testing.TB, n int) {
	t.Helper()
	w.settle(t)
	w.c.SetWriteDeadline(time.Now().Add(waitTimeout))
	defer w.c.SetWriteDeadline(time.Time{})
	k, err := w.c.Write(pattern(w.off, n))
	w.off += int64(k)
	if err != nil {
		t.Fatalf("peer write: %v", err)
	}
}

// dataIn checks Data events against the pattern the peer wrote.
type dataIn struct {
	off int64 // bytes received so far
}

// take checks one Data event's bytes.
func (d *dataIn) take(t testing.TB, e stream.Event) {
	t.Helper()
	if len(e.Data) == 0 {
		t.Fatalf("empty Data event at byte %d", d.off)
	}
	checkPattern(t, e.Data, d.off)
	d.off += int64(len(e.Data))
}

// until receives Data events until n bytes in all have arrived, skipping
// flow-control events.
func (d *dataIn) until(t testing.TB, ch <-chan stream.Event, n int64) {
	t.Helper()
	for d.off < n {
		e := NextNonFlow(t, ch)
		if e.Kind != stream.Data {
			t.Fatalf("got %v after %d of %d bytes, want Data", e, d.off, n)
		}
		d.take(t, e)
	}
	if d.off != n {
		t.Fatalf("received %d bytes, want %d", d.off, n)
	}
}

// DrainQueued receives, without waiting, every event already in the
// channel and returns them.
func DrainQueued(ch <-chan stream.Event) []stream.Event {
	var evs []stream.Event
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

// closeWrite half-closes the peer's write side.
func closeWrite(t testing.TB, c net.Conn) {
	t.Helper()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("peer %T cannot half-close", c)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatalf("peer CloseWrite: %v", err)
	}
}

// mustSetLimits sets the write buffer limits and fails the test on error.
func mustSetLimits(t testing.TB, tr transport.Transport, high, low int) {
	t.Helper()
	if err := tr.SetWriteBufferLimits(high, low); err != nil {
		t.Fatalf("SetWriteBufferLimits(%s, %s): %v", limit(high), limit(low), err)
	}
}

// limit formats a limit argument.
func limit(n int) string {
	if n == transport.DefaultLimit {
		return "DefaultLimit"
	}
	return fmt.Sprint(n)
}

// closedFD reports whether the transport's descriptor is closed, through
// its "socket" extra info.
func closedFD(t testing.TB, tr transport.Transport) bool {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSocket)
	if !ok {
		t.Fatalf(`ExtraInfo("socket") missing`)
	}
	rc, ok := v.(interface {
		Control(func(fd uintptr)) error
	})
	if !ok {
		t.Fatalf(`ExtraInfo("socket") is %T, want a syscall.RawConn`, v)
	}
	return rc.Control(func(uintptr) {}) != nil
}
