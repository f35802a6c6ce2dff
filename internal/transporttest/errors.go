package transporttest

import (
	"context"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var errorTests = []test{
	{"LC3_L7_ResetIsLostWithErrno", testReset},
	{"LC3_L7_ResetWhileFlushingIsLostWithoutEOF", testResetWhileFlushing},
	{"LC3_ResetWhileClosingIsLostWithErrno", testResetWhileClosing},
	{"WR5_DR7_DrainReturnsCause", testDrainCause},
	{"ER1_BadLimitsKeepWorking", testBadLimits},
}

// isReset reports whether err is the kernel's report of a connection the
// other end reset or closed under a writer.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// resetPeer ends the connection from the peer's socket (under a TLS
// peer: no close_notify) with a reset: SO_LINGER 0 on TCP. AF_UNIX has
// no reset, but Linux reports ECONNRESET to the other end when a socket
// closes with unread data, so there the transport first makes sure the
// peer has some (a transport with a buffer has filled the peer's
// already).
func resetPeer(t *testing.T, p Pair) {
	t.Helper()
	raw := p.raw()
	if tc, ok := raw.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			t.Fatalf("SetLinger(0): %v", err)
		}
		raw.Close()
		return
	}
	if runtime.GOOS != "linux" {
		t.Skipf("no way to reset a %T on %s", raw, runtime.GOOS)
	}
	if p.Transport.WriteBufferSize() == 0 { // else the peer has unread data already
		if _, err := p.Transport.Write([]byte("unread")); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	raw.Close()
}

// checkLostCause checks that err carries a reset: the kernel's errno
// inside a *net.OpError, as net.Conn reports it.
func checkLostCause(t *testing.T, what string, err error) {
	t.Helper()
	var oe *net.OpError
	if !isReset(err) || !errors.As(err, &oe) {
		t.Fatalf("%s = %v (%T), want ECONNRESET or EPIPE inside a *net.OpError", what, err, err)
	}
}

// lostAfterReset collects the rest of the trace after a reset and returns
// Lost, failing the test if an EOF came first (L7: a reset is not an end
// of stream).
func lostAfterReset(t *testing.T, ch <-chan stream.Event) stream.Event {
	t.Helper()
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs)
	lost := evs[len(evs)-1]
	for _, e := range evs {
		if e.Kind == stream.EOF {
			t.Fatalf("trace %v ending in %v: EOF after a reset, want Lost with no EOF before it (L7)", kinds(evs), lost)
		}
	}
	return lost
}

func testReset(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	resetPeer(t, p)
	e := lostAfterReset(t, ch)
	if !errors.Is(e.Err, syscall.ECONNRESET) {
		t.Fatalf("Lost(%v) after a reset, want ECONNRESET", e.Err)
	}
	checkLostCause(t, "Lost's error", e.Err)
	if !tr.IsClosing() {
		t.Fatalf("IsClosing false after a reset")
	}
	// Writes and Drain report the end and keep its cause.
	n, err := tr.Write([]byte("x"))
	if n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after a reset = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	checkLostCause(t, "Write's error after a reset", err)
	checkLostCause(t, "Drain after a reset", tr.Drain(context.Background()))
	callEverything(t, tr, ch)
}

// testResetWhileFlushing resets the connection while the transport both
// reads and flushes a buffer: whichever side sees the reset first, the
// trace ends in Lost with the reset, and no EOF comes before it.
func testResetWhileFlushing(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	w := &out{tr: p.Transport}
	w.backUp(t)
	resetPeer(t, p)
	checkLostCause(t, "Lost's error", lostAfterReset(t, ch).Err)
}

// testResetWhileClosing resets the connection while Close still flushes:
// the failed write ends the transport, and Lost carries its error.
func testResetWhileClosing(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	w := &out{tr: p.Transport}
	w.backUp(t)
	p.Transport.Close()
	resetPeer(t, p)
	lost := lostAfterReset(t, ch)
	checkLostCause(t, "Lost's error", lost.Err)
	checkEnded(t, p.Transport, lost.Err)
}

func testDrainCause(t *testing.T, newPair NewPair) {
	for _, tc := range []struct {
		name  string
		claim bool // with a read goroutine, the read notices the reset first
	}{
		{name: "Reading", claim: true},
		{name: "NotReading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, transport.WithWriteBufferLimits(64<<10, 16<<10))
			tr := p.Transport
			var ch <-chan stream.Event
			if tc.claim {
				ch = tr.Events()
				expect(t, ch, stream.Made)
			}
			writeUntilPaused(t, tr)
			waiting := drainAsync(context.Background(), tr)
			resetPeer(t, p)
			err := recvErr(t, waiting, "Drain while the peer resets")
			checkLostCause(t, "Drain's error", err)
			checkLostCause(t, "a later Drain's error", tr.Drain(context.Background()))
			if tc.claim {
				checkLostCause(t, "Lost's error", expectLostAnyway(t, ch).Err)
			}
		})
	}
}

// expectLostAnyway returns the Lost event, whatever comes before it.
func expectLostAnyway(t *testing.T, ch <-chan stream.Event) stream.Event {
	t.Helper()
	evs := collect(t, ch)
	if len(evs) == 0 || evs[len(evs)-1].Kind != stream.Lost {
		t.Fatalf("trace %v, want Lost last", kinds(evs))
	}
	return evs[len(evs)-1]
}

func testBadLimits(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(4000, 1000))
	tr := p.Transport
	for _, tc := range []struct{ high, low int }{
		{high: -1, low: def},
		{high: def, low: -1},
		{high: -1, low: -1},
		{high: 10, low: 20},
		{high: 10, low: -1},
	} {
		if err := tr.SetWriteBufferLimits(tc.high, tc.low); err == nil {
			t.Errorf("SetWriteBufferLimits(%s, %s) = nil, want an error", limit(tc.high), limit(tc.low))
		}
		if high, low := tr.WriteBufferLimits(); high != 4000 || low != 1000 {
			t.Fatalf("limits %d, %d after a rejected SetWriteBufferLimits(%s, %s), want 4000, 1000", high, low, limit(tc.high), limit(tc.low))
		}
	}
	// The transport still works both ways.
	w := &out{tr: tr}
	w.write(t, 10)
	(&in{c: p.Peer}).read(t, 10)
	(&peerOut{c: p.Peer}).write(t, 10)
	var d dataIn
	d.until(t, ch, 10)
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after bad arguments")
	}
	tr.Close()
	answerClose(t, p)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
}
