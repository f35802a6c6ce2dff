package transporttest

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var readingTests = []test{
	{"RD1_R1_ChunksNonEmptyConcatenate", testChunks},
	{"RD1_R2_EOFAfterData", testEOFAfterData},
	{"RD1_TailAndEOFKeptForSlowConsumer", testTailKept},
	{"RD2_StalledConsumerBounded", testStalledConsumer},
	{"RD3_P1_P4_PauseBeforeMadeHoldsData", testPauseBeforeMade},
	{"RD3_P1_PauseMidStream", testPauseMidStream},
	{"RD3_P2_PauseResumeIdempotent", testPauseIdempotent},
	{"RD3_P3_NotReadingAfterClose", testNotReadingAfterClose},
	{"RD4_R3_CloseAfterEOF", testCloseAfterEOF},
	{"RD4_R3_CloseAfterEOFFlushesWrites", testCloseAfterEOFFlushes},
	{"RD4_R4_R5_HalfOpenWithHalfClose", testHalfOpen},
	{"RD4_R8_WriteAfterPeerClosedIsLost", testWriteAfterPeerClosed},
}

// sendAsync writes the next n pattern bytes from the peer in a goroutine,
// then closes the peer if closeAfter; the error (or nil) arrives on the
// channel. w must not be used until it has.
func (w *peerOut) sendAsync(n int, closeAfter bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		w.c.SetWriteDeadline(time.Now().Add(waitTimeout))
		k, err := w.c.Write(pattern(w.off, n))
		w.off += int64(k)
		if closeAfter {
			w.c.Close()
		}
		done <- err
	}()
	return done
}

func testChunks(t *testing.T, newPair NewPair) {
	const (
		size        = 1 << 20
		readLimit   = 64 << 10
		eventBuffer = 4
		maxChunk    = readLimit / eventBuffer // WithEventBuffer's documented bound
	)
	p, ch := claim(t, newPair, transport.WithReadLimit(readLimit), transport.WithEventBuffer(eventBuffer))
	peer := &peerOut{c: p.Peer}
	sent := peer.sendAsync(size, true)
	var d dataIn
	for d.off < size {
		e := expect(t, ch, stream.Data)
		if len(e.Data) > maxChunk {
			t.Fatalf("Data of %d bytes, want at most %d (read limit / event buffer)", len(e.Data), maxChunk)
		}
		d.take(t, e)
	}
	if d.off != size {
		t.Fatalf("received %d bytes, want %d", d.off, size)
	}
	if err := recvErr(t, sent, "peer write"); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	expect(t, ch, stream.EOF)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v) after the peer closed, want Lost(nil)", lost.Err)
	}
}

func testEOFAfterData(t *testing.T, newPair NewPair) {
	for _, tc := range []struct {
		name string
		opts []transport.Option
	}{
		{name: "Default"},
		{name: "HalfClose", opts: []transport.Option{transport.WithHalfClose()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ch := claim(t, newPair, tc.opts...)
			peer := &peerOut{c: p.Peer}
			peer.write(t, 2)
			closeWrite(t, p.Peer)
			var d dataIn
			d.until(t, ch, 2)
			expect(t, ch, stream.EOF)
			p.Transport.Close()
			if lost := expectLost(t, ch); lost.Err != nil {
				t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
			}
		})
	}
}

// testTailKept checks that the transport's own close after EOF loses
// nothing the consumer has not taken yet: every Data, then EOF, then
// Lost, however the consumer lags behind the reads. With one byte per
// read the transport is always ahead of the consumer.
func testTailKept(t *testing.T, newPair NewPair) {
	const n = 30
	for range 20 {
		p := newPair(t, transport.WithReadLimit(n+2), transport.WithEventBuffer(n+2))
		peer := &peerOut{c: p.Peer}
		peer.write(t, n)
		closeWrite(t, p.Peer)
		evs := collect(t, p.Transport.Events())
		checkTrace(t, evs)
		var d dataIn
		for _, e := range evs {
			if e.Kind == stream.Data {
				d.take(t, e)
			}
		}
		if d.off != n || evs[len(evs)-2].Kind != stream.EOF {
			t.Fatalf("trace %v: received %d of %d bytes; want every Data, then EOF, then Lost", kinds(evs), d.off, n)
		}
		(&in{c: p.Peer}).readToEOF(t, nil) // the transport closed itself
	}
}

func testStalledConsumer(t *testing.T, newPair NewPair) {
	for _, tc := range []struct {
		name        string
		readLimit   int // 0: the default
		eventBuffer int // 0: the default
	}{
		{name: "Default"},
		{name: "Limit16KiB", readLimit: 16 << 10, eventBuffer: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			readLimit, eventBuffer := tc.readLimit, tc.eventBuffer
			if readLimit == 0 {
				readLimit = transport.DefaultReadLimit
			}
			if eventBuffer == 0 {
				eventBuffer = transport.DefaultEventBuffer
			}
			oneRead := min(readLimit/eventBuffer, maxRead)
			p := newPair(t, transport.WithReadLimit(tc.readLimit), transport.WithEventBuffer(tc.eventBuffer))
			ch := p.Transport.Events() // claimed, then never read while the peer floods
			peer := &peerOut{c: p.Peer}
			if !peer.flood(t, 100<<20) {
				t.Fatalf("the peer wrote 100 MiB to a stalled consumer without blocking")
			}
			// Stop the reads, then count what the transport had taken
			// from the kernel: the channel's content and the one read it
			// may have been waiting to queue.
			p.Transport.PauseReading()
			var d dataIn
			for _, e := range DrainQueued(ch) {
				switch e.Kind {
				case stream.Made:
				case stream.Data:
					d.take(t, e)
				default:
					t.Fatalf("unexpected %v", e)
				}
			}
			if bound := int64(readLimit + oneRead); d.off > bound {
				t.Fatalf("a stalled consumer's transport held %d bytes, want at most %d (read limit %d + one read %d)", d.off, bound, readLimit, oneRead)
			}
			// Nothing was lost: the rest follows once reading resumes.
			p.Transport.ResumeReading()
			d.until(t, ch, peer.off)
			peer.close(t)
			expect(t, ch, stream.EOF)
			expectLost(t, ch)
		})
	}
}

// readingOpts make 1 KiB reads and a 64-event channel: a transport that
// kept reading while paused would queue many Data events.
var readingOpts = []transport.Option{transport.WithReadLimit(64 << 10), transport.WithEventBuffer(64)}

func testPauseBeforeMade(t *testing.T, newPair NewPair) {
	p := newPair(t, readingOpts...)
	tr := p.Transport
	tr.PauseReading() // before the first event: asyncio's pause inside connection_made
	if tr.IsReading() {
		t.Fatalf("IsReading true after PauseReading")
	}
	ch := tr.Events()
	expect(t, ch, stream.Made)
	peer := &peerOut{c: p.Peer}
	if !peer.flood(t, 100<<20) {
		t.Fatalf("the peer wrote 100 MiB to a paused transport without blocking")
	}
	if evs := DrainQueued(ch); len(evs) != 0 {
		t.Fatalf("got %v while paused, want nothing", kinds(evs))
	}
	tr.ResumeReading()
	if !tr.IsReading() {
		t.Fatalf("IsReading false after ResumeReading")
	}
	var d dataIn
	d.until(t, ch, peer.off)
	peer.close(t)
	expect(t, ch, stream.EOF)
	expectLost(t, ch)
}

func testPauseMidStream(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, readingOpts...)
	tr := p.Transport
	peer := &peerOut{c: p.Peer}
	if !peer.flood(t, 100<<20) {
		t.Fatalf("the peer wrote 100 MiB to a stalled consumer without blocking")
	}
	var d dataIn
	for range 10 {
		d.take(t, expect(t, ch, stream.Data))
	}
	tr.PauseReading()
	// What was queued may still come: the channel's content and the one
	// read the transport was queuing when it paused.
	queued := DrainQueued(ch)
	if max := cap(ch) + 1; len(queued) > max {
		t.Fatalf("got %d events after PauseReading, want at most %d (the event buffer and the read in flight)", len(queued), max)
	}
	for _, e := range queued {
		if e.Kind != stream.Data {
			t.Fatalf("unexpected %v", e)
		}
		d.take(t, e)
	}
	// Then nothing, however much the peer sends: the read that was being
	// queued as reading paused may land only now, within the same bound.
	peer.flood(t, 100<<20)
	if evs := DrainQueued(ch); len(queued)+len(evs) > cap(ch)+1 {
		t.Fatalf("got %d events (%v...) after the queue was drained while paused, %d before: want at most %d in all", len(evs), evs[0], len(queued), cap(ch)+1)
	} else {
		for _, e := range evs {
			d.take(t, e)
		}
	}
	tr.ResumeReading()
	d.until(t, ch, peer.off)
	peer.close(t)
	expect(t, ch, stream.EOF)
	expectLost(t, ch)
}

func testPauseIdempotent(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	tr.PauseReading()
	tr.PauseReading()
	if tr.IsReading() {
		t.Fatalf("IsReading true after PauseReading twice")
	}
	tr.ResumeReading()
	tr.ResumeReading()
	if !tr.IsReading() {
		t.Fatalf("IsReading false after ResumeReading twice")
	}
	peer := &peerOut{c: p.Peer}
	peer.write(t, 10)
	var d dataIn
	d.until(t, ch, 10)
	tr.PauseReading()
	tr.Close()
	tr.ResumeReading() // a no-op on a closing transport: reading stays off
	if tr.IsReading() {
		t.Fatalf("IsReading true after Close and ResumeReading")
	}
	tr.PauseReading()
	tr.ResumeReading()
	answerClose(t, p)
	expectLost(t, ch)
}

func testNotReadingAfterClose(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	if !tr.IsReading() {
		t.Fatalf("IsReading false on a fresh claimed transport")
	}
	tr.Close()
	if tr.IsReading() {
		t.Fatalf("IsReading true after Close")
	}
	tr.ResumeReading()
	if tr.IsReading() {
		t.Fatalf("IsReading true after Close and ResumeReading")
	}
	answerClose(t, p)
	expectLost(t, ch)
}

func testCloseAfterEOF(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	closeWrite(t, p.Peer)
	expect(t, ch, stream.EOF)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
	if !p.Transport.IsClosing() {
		t.Fatalf("IsClosing false after the transport closed itself")
	}
	(&in{c: p.Peer}).readToEOF(t, nil)
}

func testCloseAfterEOFFlushes(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.backUp(t)
	closeWrite(t, p.Peer)
	if e := NextNonFlow(t, ch); e.Kind != stream.EOF {
		t.Fatalf("got %v, want EOF", e)
	}
	// The transport closes itself, but only once its writes are out.
	r := &in{c: p.Peer}
	if got := r.readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes, want all %d", got, w.off)
	}
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
}

func testHalfOpen(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithHalfClose())
	tr := p.Transport
	peer := &peerOut{c: p.Peer}
	peer.write(t, 5)
	closeWrite(t, p.Peer)
	var d dataIn
	d.until(t, ch, 5)
	expect(t, ch, stream.EOF)
	if tr.IsReading() {
		t.Errorf("IsReading true after EOF (R5)")
	}
	if !p.halfCloses() {
		// TLS 1.2: the peer's close_notify closes the connection
		// whatever WithHalfClose says (asyncio R9): the transport
		// closes itself and answers with its own.
		if lost := expectLost(t, ch); lost.Err != nil {
			t.Fatalf("Lost(%v) after the peer's close_notify, want Lost(nil)", lost.Err)
		}
		if got := (&in{c: p.Peer}).readToEOF(t, nil); got != 0 {
			t.Fatalf("peer read %d bytes, want none", got)
		}
		return
	}
	w := &out{tr: tr}
	w.write(t, 4)
	(&in{c: p.Peer}).read(t, 4)
	if tr.IsClosing() {
		t.Fatalf("IsClosing true after EOF with WithHalfClose")
	}
	w.write(t, 4)
	tr.Close()
	r := &in{c: p.Peer, off: 4}
	if got := r.readToEOF(t, nil); got != 4 {
		t.Fatalf("peer read %d bytes after the first 4, want 4", got)
	}
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
	}
}

// testWriteAfterPeerClosed keeps the transport open after EOF and writes
// to a peer that has closed for good: the writes fail and Lost carries the
// kernel's error (asyncio's R8, with the error returned by Write too).
func testWriteAfterPeerClosed(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithHalfClose())
	tr := p.Transport
	if !p.halfCloses() {
		t.Skip("R8 needs the transport open after the peer's close; under TLS 1.2 the peer's close_notify closes it (R9, checked by RD4_R4_R5_HalfOpenWithHalfClose)")
	}
	p.Peer.Close()
	expect(t, ch, stream.EOF)
	// The first writes may still reach the kernel: the peer's reset
	// comes back to the first one.
	deadline := time.Now().Add(waitTimeout)
	var err error
	for err == nil {
		if time.Now().After(deadline) {
			t.Fatalf("writes to a closed peer kept succeeding for %v", waitTimeout)
		}
		_, err = tr.Write([]byte("x"))
	}
	if !errors.Is(err, net.ErrClosed) || !isReset(err) {
		t.Fatalf("Write to a closed peer = %v, want an error matching net.ErrClosed with EPIPE or ECONNRESET", err)
	}
	evs := append([]stream.Event{{Kind: stream.Made}, {Kind: stream.EOF}}, collect(t, ch)...)
	checkTrace(t, evs)
	var oe *net.OpError
	if lost := evs[len(evs)-1]; !isReset(lost.Err) || !errors.As(lost.Err, &oe) {
		t.Fatalf("Lost(%v), want EPIPE or ECONNRESET inside a *net.OpError", lost.Err)
	}
}
