package transporttest

import (
	"errors"
	"net"
	"testing"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var writingTests = []test{
	{"WR1_W4_SmallWriteUnbuffered", testSmallWrite},
	{"WR1_W3_EmptyWrite", testEmptyWrite},
	{"WR1_W7_WriteDoesNotRetain", testWriteDoesNotRetain},
	{"WR2_W10_WriteAfterCloseWhileFlushing", testWriteAfterClose},
	{"WR2_WriteAfterAbort", testWriteAfterAbort},
	{"WR2_W8_WriteAfterWriteEOF", testWriteAfterWriteEOF},
	{"WR7_W13_WriteEOFFlushesFirst", testWriteEOFFlushes},
	{"WR7_W12_WriteBuffersFlowControl", testWriteBuffersFlowControl},
	{"WR7_W12_WriteBuffersSkipsEmpty", testWriteBuffersSkipsEmpty},
	{"WR7_WriteBuffersManyChunks", testWriteBuffersManyChunks},
}

// unlimited are limits under which a transport never pauses, so that a
// test can back it up without flow events.
var unlimited = transport.WithWriteBufferLimits(1<<40, 0)

func testSmallWrite(t *testing.T, newPair NewPair) {
	p, _ := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.write(t, 3)
	if n := p.Transport.WriteBufferSize(); n != 0 {
		t.Fatalf("WriteBufferSize %d after a 3-byte write to an idle socket, want 0", n)
	}
	if !isClosed(p.Transport.Writable()) {
		t.Fatalf("Writable not closed after a small write")
	}
	(&in{c: p.Peer}).read(t, 3)
}

func testEmptyWrite(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(0, transport.DefaultLimit))
	tr := p.Transport
	for _, tc := range []struct {
		name  string
		write func() (int64, error)
	}{
		{name: "Write(nil)", write: func() (int64, error) { n, err := tr.Write(nil); return int64(n), err }},
		{name: "Write([]byte{})", write: func() (int64, error) { n, err := tr.Write([]byte{}); return int64(n), err }},
		{name: "WriteBuffers(nil)", write: func() (int64, error) { return tr.WriteBuffers(nil) }},
		{name: "WriteBuffers(empty chunks)", write: func() (int64, error) { return tr.WriteBuffers([][]byte{nil, {}}) }},
	} {
		if n, err := tc.write(); n != 0 || err != nil {
			t.Errorf("%s = %d, %v; want 0, nil", tc.name, n, err)
		}
		// high is 0: buffering a single byte would pause.
		if n := tr.WriteBufferSize(); n != 0 || !isClosed(tr.Writable()) {
			t.Fatalf("after %s: WriteBufferSize %d, paused %v; want 0, false", tc.name, n, !isClosed(tr.Writable()))
		}
	}
	w := &out{tr: tr}
	w.write(t, 3) // the stream holds these three bytes and nothing else
	tr.Close()
	if got := (&in{c: p.Peer}).readToEOF(t, nil); got != 3 {
		t.Fatalf("peer read %d bytes, want 3", got)
	}
	answerClose(t, p)
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs)
	if len(evs) != 2 {
		t.Fatalf("trace %v, want Made, Lost: empty writes emit nothing", kinds(evs))
	}
}

func testWriteDoesNotRetain(t *testing.T, newPair NewPair) {
	p, _ := claim(t, newPair, unlimited)
	w := &out{tr: p.Transport}
	w.backUp(t) // the next writes are buffered, not sent
	for _, via := range []string{"Write", "WriteBuffers"} {
		b := pattern(w.off, 64<<10)
		var err error
		if via == "Write" {
			_, err = p.Transport.Write(b)
		} else {
			_, err = p.Transport.WriteBuffers([][]byte{b[:1000], b[1000:]})
		}
		if err != nil {
			t.Fatalf("%s: %v", via, err)
		}
		w.off += int64(len(b))
		for i := range b {
			b[i] = ^b[i] // the transport must have copied what it kept
		}
	}
	(&in{c: p.Peer}).read(t, w.off) // checks every byte against the pattern
}

func testWriteAfterClose(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	w := &out{tr: p.Transport}
	w.backUp(t)
	p.Transport.Close() // still flushing: the peer does not read yet
	if n, err := p.Transport.Write(pattern(w.off, 10)); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write while Close flushes = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	if n, err := p.Transport.WriteBuffers([][]byte{pattern(w.off, 10)}); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffers while Close flushes = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	if got := (&in{c: p.Peer}).readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes, want exactly the %d written before Close", got, w.off)
	}
	answerClose(t, p)
	expectLost(t, ch)
}

func testWriteAfterAbort(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	p.Transport.Abort()
	if n, err := p.Transport.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Abort = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	if n, err := p.Transport.WriteBuffers([][]byte{[]byte("x")}); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffers after Abort = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	if got := (&in{c: p.Peer}).readToEOF(t, isCut); got != 0 {
		t.Fatalf("peer read %d bytes, want none", got)
	}
	expectLost(t, ch)
}

func testWriteAfterWriteEOF(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	if got, want := tr.CanWriteEOF(), p.halfCloses(); got != want {
		t.Fatalf("CanWriteEOF() = %v, want %v", got, want)
	}
	if !p.halfCloses() {
		checkWriteEOFRefused(t, p, ch, &out{tr: tr})
		return
	}
	if err := tr.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF: %v", err)
	}
	if n, err := tr.Write([]byte("x")); n != 0 || !errors.Is(err, transport.ErrEOFWritten) {
		t.Errorf("Write after WriteEOF = %d, %v; want 0, ErrEOFWritten", n, err)
	}
	if n, err := tr.WriteBuffers([][]byte{[]byte("x")}); n != 0 || !errors.Is(err, transport.ErrEOFWritten) {
		t.Errorf("WriteBuffers after WriteEOF = %d, %v; want 0, ErrEOFWritten", n, err)
	}
	if _, err := tr.Write(nil); !errors.Is(err, transport.ErrEOFWritten) {
		t.Errorf("empty Write after WriteEOF = %v, want ErrEOFWritten (W2: the EOF check comes first)", err)
	}
	if err := tr.WriteEOF(); err != nil {
		t.Errorf("second WriteEOF: %v", err)
	}
	if got := (&in{c: p.Peer}).readToEOF(t, nil); got != 0 {
		t.Fatalf("peer read %d bytes before EOF, want none", got)
	}
	tr.Close()
	answerClose(t, p)
	expectLost(t, ch)
}

// checkWriteEOFRefused checks WriteEOF on a transport that cannot
// half-close (TLS 1.2): an error matching errors.ErrUnsupported that
// changes nothing. The transport still writes, and Close still sends
// every byte, w's buffer included, then ends cleanly.
func checkWriteEOFRefused(t *testing.T, p Pair, ch <-chan stream.Event, w *out) {
	t.Helper()
	tr := p.Transport
	if err := tr.WriteEOF(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("WriteEOF without half-close (TLS 1.2) = %v, want an error matching errors.ErrUnsupported", err)
	}
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after a refused WriteEOF")
	}
	w.write(t, 5)
	tr.Close()
	if got := (&in{c: p.Peer}).readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes then EOF, want all %d", got, w.off)
	}
	answerClose(t, p)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
}

func testWriteEOFFlushes(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	tr := p.Transport
	w := &out{tr: tr}
	w.backUp(t)
	if !p.halfCloses() {
		checkWriteEOFRefused(t, p, ch, w)
		return
	}
	if err := tr.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF with a buffer: %v", err)
	}
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after WriteEOF")
	}
	if _, err := tr.Write([]byte("x")); !errors.Is(err, transport.ErrEOFWritten) {
		t.Fatalf("Write after WriteEOF (still flushing) = %v, want ErrEOFWritten", err)
	}
	if got := (&in{c: p.Peer}).readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes then EOF, want all %d first", got, w.off)
	}
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after the EOF went out")
	}
	// The transport still reads.
	peer := &peerOut{c: p.Peer}
	peer.write(t, 5)
	var d dataIn
	d.until(t, ch, 5)
	p.Peer.Close()
	expect(t, ch, stream.EOF)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
}

func testWriteBuffersFlowControl(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(10, transport.DefaultLimit))
	tr := p.Transport
	var off int64
	for {
		if off > 1<<30 {
			t.Fatalf("wrote %d bytes and the transport buffered at most 10", off)
		}
		b := pattern(off, 1<<20)
		n, err := tr.WriteBuffers([][]byte{b[:100], b[100 : 512<<10], b[512<<10:]})
		if err != nil || n != int64(len(b)) {
			t.Fatalf("WriteBuffers = %d, %v; want %d, nil", n, err, len(b))
		}
		off += n
		// The size only shrinks from here: if it is over high now, it
		// went over high inside WriteBuffers, which must have paused.
		if tr.WriteBufferSize() > 10 {
			break
		}
	}
	if isClosed(tr.Writable()) {
		t.Fatalf("WriteBuffers left %d bytes buffered over high 10 without pausing", tr.WriteBufferSize())
	}
	expect(t, ch, stream.PauseWriting)
	(&in{c: p.Peer}).read(t, off)
	expect(t, ch, stream.ResumeWriting)
}

func testWriteBuffersSkipsEmpty(t *testing.T, newPair NewPair) {
	writeBuffersThenClose(t, newPair, func(off int64) [][]byte {
		return [][]byte{nil, pattern(off, 5), {}, pattern(off+5, 7), nil}
	})
}

func testWriteBuffersManyChunks(t *testing.T, newPair NewPair) {
	// More chunks than one writev takes (IOV_MAX is 1024), with empty
	// ones among them.
	writeBuffersThenClose(t, newPair, func(off int64) [][]byte {
		var bufs [][]byte
		for i := range 3000 {
			n := 100 + i%57
			if i%7 == 0 {
				n = 0
			}
			bufs = append(bufs, pattern(off, n))
			off += int64(n)
		}
		return bufs
	})
}

// writeBuffersThenClose writes the buffers that makeBufs returns (the
// pattern from the given offset) with WriteBuffers, on an idle and on a
// backed-up transport, then closes it: the close must finish (no chunk
// may stall the flush) and the peer must read every byte, in order.
func writeBuffersThenClose(t *testing.T, newPair NewPair, makeBufs func(off int64) [][]byte) {
	for _, tc := range []struct {
		name   string
		backUp bool
	}{
		{name: "Idle"},
		{name: "BackedUp", backUp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ch := claim(t, newPair, unlimited)
			w := &out{tr: p.Transport}
			if tc.backUp {
				w.backUp(t)
			}
			bufs := makeBufs(w.off)
			var want int64
			for _, b := range bufs {
				want += int64(len(b))
			}
			n, err := p.Transport.WriteBuffers(bufs)
			if err != nil || n != want {
				t.Fatalf("WriteBuffers = %d, %v; want %d, nil", n, err, want)
			}
			w.off += n
			p.Transport.Close()
			if got := (&in{c: p.Peer}).readToEOF(t, nil); got != w.off {
				t.Fatalf("peer read %d bytes, want %d", got, w.off)
			}
			answerClose(t, p)
			expectLost(t, ch)
		})
	}
}
