package transporttest

import (
	"fmt"
	"testing"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var flowTests = []test{
	{"WR3_F1_DefaultLimits", testDefaultLimits},
	{"WR3_F2_F3_LimitsDerivedAndValidated", testLimitsTable},
	{"WR3_F4_HighZeroPausesUntilEmpty", testHighZero},
	{"WR3_F9_SetLimitsAppliesAtOnce", testSetLimitsAtOnce},
	{"WR4_F5_PauseStrictlyOverHigh", testPauseStrictlyOverHigh},
	{"WR4_F6_ResumeAtOrBelowLow", testResumeAtOrBelowLow},
	{"WR4_F7_AlternateWithWritable", testAlternate},
	{"WR6_FlowEventsNeverBlockWriter", testFlowNeverBlocks},
}

const def = transport.DefaultLimit

// paused reports whether the transport's writing is paused, by Writable.
func paused(tr transport.Transport) bool { return !isClosed(tr.Writable()) }

func testDefaultLimits(t *testing.T, newPair NewPair) {
	p := newPair(t)
	if high, low := p.Transport.WriteBufferLimits(); high != 64<<10 || low != 16<<10 {
		t.Fatalf("WriteBufferLimits() = %d, %d; want 65536, 16384", high, low)
	}
}

func testLimitsTable(t *testing.T, newPair NewPair) {
	p := newPair(t)
	tr := p.Transport
	for _, tc := range []struct {
		high, low         int
		wantHigh, wantLow int
		wantErr           bool
	}{
		{high: def, low: def, wantHigh: 65536, wantLow: 16384},
		{high: 1000, low: def, wantHigh: 1000, wantLow: 250},
		{high: def, low: 1000, wantHigh: 4000, wantLow: 1000},
		{high: 3, low: def, wantHigh: 3, wantLow: 0},
		{high: 0, low: def, wantHigh: 0, wantLow: 0},
		{high: 0, low: 0, wantHigh: 0, wantLow: 0},
		{high: 100, low: 100, wantHigh: 100, wantLow: 100},
		{high: 100, low: 0, wantHigh: 100, wantLow: 0},
		{high: 10, low: 20, wantErr: true},
		{high: -1, low: def, wantErr: true},
		{high: def, low: -1, wantErr: true},
		{high: -1, low: -1, wantErr: true},
		{high: 10, low: -1, wantErr: true},
		{high: -5, low: 0, wantErr: true},
	} {
		t.Run(fmt.Sprintf("%s,%s", limit(tc.high), limit(tc.low)), func(t *testing.T) {
			mustSetLimits(t, tr, 7000, 700) // a known state
			err := tr.SetWriteBufferLimits(tc.high, tc.low)
			high, low := tr.WriteBufferLimits()
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("SetWriteBufferLimits(%s, %s) = nil, want an error", limit(tc.high), limit(tc.low))
			case tc.wantErr && (high != 7000 || low != 700):
				t.Fatalf("a rejected SetWriteBufferLimits changed the limits to %d, %d", high, low)
			case !tc.wantErr && err != nil:
				t.Fatalf("SetWriteBufferLimits(%s, %s): %v", limit(tc.high), limit(tc.low), err)
			case !tc.wantErr && (high != tc.wantHigh || low != tc.wantLow):
				t.Fatalf("limits %d, %d; want %d, %d", high, low, tc.wantHigh, tc.wantLow)
			}
		})
	}
}

func testHighZero(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(0, def))
	tr := p.Transport
	if high, low := tr.WriteBufferLimits(); high != 0 || low != 0 {
		t.Fatalf("limits %d, %d; want 0, 0", high, low)
	}
	w := &out{tr: tr}
	w.fill(t) // the first buffered byte pauses
	if !paused(tr) {
		t.Fatalf("not paused with %d bytes buffered and high 0", tr.WriteBufferSize())
	}
	expect(t, ch, stream.PauseWriting)
	r := &in{c: p.Peer}
	r.read(t, w.off)
	expect(t, ch, stream.ResumeWriting)
	if n := tr.WriteBufferSize(); n != 0 {
		t.Fatalf("resumed with %d bytes buffered and low 0, want 0", n)
	}
}

func testSetLimitsAtOnce(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	tr := p.Transport
	w := &out{tr: tr}
	w.backUp(t)
	mustSetLimits(t, tr, 0, def)
	if !paused(tr) {
		t.Fatalf("SetWriteBufferLimits(0, DefaultLimit) with %d bytes buffered did not pause", tr.WriteBufferSize())
	}
	expect(t, ch, stream.PauseWriting)
	mustSetLimits(t, tr, 1<<40, 1<<39)
	if paused(tr) {
		t.Fatalf("SetWriteBufferLimits over the buffered size did not resume (rxnet resumes, unlike asyncio's F9)")
	}
	expect(t, ch, stream.ResumeWriting)
	if err := tr.Drain(t.Context()); err != nil {
		t.Fatalf("Drain after the resume: %v", err)
	}
}

// testPauseStrictlyOverHigh sets high around the buffered size: size ==
// high does not pause, size == high+1 does. The kernel may still take a
// few bytes while the test runs; an attempt it spoils is retried.
func testPauseStrictlyOverHigh(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	tr := p.Transport
	w := &out{tr: tr}
	w.backUp(t)

	// By Write: high = size, then one more byte.
	for attempt := 0; ; attempt++ {
		if attempt == 1000 {
			t.Fatalf("the kernel kept taking bytes for %d attempts", attempt)
		}
		s := tr.WriteBufferSize()
		mustSetLimits(t, tr, s, 0)
		if paused(tr) {
			t.Fatalf("paused with size <= high %d", s)
		}
		w.write(t, 1)
		if paused(tr) {
			break
		}
		if n := tr.WriteBufferSize(); n > s {
			t.Fatalf("not paused with size %d > high %d", n, s)
		}
	}
	expect(t, ch, stream.PauseWriting)
	mustSetLimits(t, tr, 1<<40, 1<<39)
	expect(t, ch, stream.ResumeWriting)

	// By SetWriteBufferLimits: high = size, then high = size-1.
	for attempt := 0; ; attempt++ {
		if attempt == 1000 {
			t.Fatalf("the kernel kept taking bytes for %d attempts", attempt)
		}
		s := tr.WriteBufferSize()
		if s < 2 {
			w.backUp(t)
			continue
		}
		mustSetLimits(t, tr, s, 0)
		if paused(tr) {
			t.Fatalf("SetWriteBufferLimits(%d, 0) paused with size <= %d", s, s)
		}
		mustSetLimits(t, tr, s-1, 0)
		if paused(tr) {
			break
		}
		if n := tr.WriteBufferSize(); n == s {
			t.Fatalf("SetWriteBufferLimits(%d, 0) did not pause with size %d", s-1, n)
		}
	}
	expect(t, ch, stream.PauseWriting)
}

// testResumeAtOrBelowLow sets low around the buffered size of a paused
// transport: size == low+1 stays paused, size == low resumes.
func testResumeAtOrBelowLow(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, unlimited)
	tr := p.Transport
	w := &out{tr: tr}
	w.backUp(t)
	mustSetLimits(t, tr, 0, def)
	expect(t, ch, stream.PauseWriting)
	for attempt := 0; ; attempt++ {
		if attempt == 1000 {
			t.Fatalf("the kernel kept taking bytes for %d attempts", attempt)
		}
		s := tr.WriteBufferSize()
		if s < 2 {
			t.Fatalf("the kernel took the buffer while the peer did not read")
		}
		mustSetLimits(t, tr, s, s-1)
		if !paused(tr) {
			if n := tr.WriteBufferSize(); n == s {
				t.Fatalf("resumed with size %d > low %d", n, s-1)
			}
			// The kernel took some: pause again and retry.
			expect(t, ch, stream.ResumeWriting)
			mustSetLimits(t, tr, 0, def)
			expect(t, ch, stream.PauseWriting)
			continue
		}
		s = tr.WriteBufferSize()
		mustSetLimits(t, tr, s, s)
		if paused(tr) {
			t.Fatalf("still paused with size <= low %d", s)
		}
		break
	}
	expect(t, ch, stream.ResumeWriting)
}

func testAlternate(t *testing.T, newPair NewPair) {
	const high, low = 64 << 10, 16 << 10
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(high, low))
	tr := p.Transport
	w := &out{tr: tr}
	r := &in{c: p.Peer}
	if !isClosed(tr.Writable()) {
		t.Fatalf("Writable not closed on a fresh transport")
	}
	for round := range 3 {
		for !paused(tr) {
			if w.off-r.off > 1<<30 {
				t.Fatalf("round %d: wrote %d bytes without a pause", round, w.off-r.off)
			}
			w.write(t, 16<<10)
		}
		expect(t, ch, stream.PauseWriting)
		gate := tr.Writable()
		w.write(t, 100<<10) // more while paused: no second PauseWriting
		r.read(t, w.off-r.off)
		if e := nextAny(t, ch); e.Kind != stream.ResumeWriting {
			t.Fatalf("round %d: got %v after PauseWriting, want ResumeWriting", round, e)
		}
		if n := tr.WriteBufferSize(); n > low {
			t.Fatalf("round %d: resumed with %d bytes buffered, over low %d", round, n, low)
		}
		if !isClosed(gate) || !isClosed(tr.Writable()) {
			t.Fatalf("round %d: Writable not closed after ResumeWriting", round)
		}
	}
	tr.Close()
	answerClose(t, p)
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs)
}

// nextAny returns the next event, failing the test if the channel is
// closed.
func nextAny(t testing.TB, ch <-chan stream.Event) stream.Event {
	t.Helper()
	e, ok := next(t, ch)
	if !ok {
		t.Fatalf("channel closed")
	}
	return e
}

// testFlowNeverBlocks toggles pause and resume many times, by Write and by
// SetWriteBufferLimits, while nobody reads the events: the channel is
// full, and no call may block on it.
func testFlowNeverBlocks(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithEventBuffer(2), unlimited)
	tr := p.Transport
	w := &out{tr: tr}
	w.backUp(t)
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for i := range 500 {
				if err := tr.SetWriteBufferLimits(1<<40, 1<<39); err != nil { // resume
					return err
				}
				if err := tr.SetWriteBufferLimits(tr.WriteBufferSize(), 0); err != nil {
					return err
				}
				// One more byte goes over high: Write pauses.
				if _, err := tr.Write([]byte{byte(i)}); err != nil {
					return err
				}
				if i%2 == 0 { // and sometimes SetWriteBufferLimits does
					if err := tr.SetWriteBufferLimits(1<<40, 1<<39); err != nil {
						return err
					}
					if err := tr.SetWriteBufferLimits(0, 0); err != nil {
						return err
					}
				}
			}
			return tr.SetWriteBufferLimits(0, 0) // end paused
		}()
	}()
	if err := recvErr(t, done, "writes and limit changes with a full event channel (WR6: they must not block)"); err != nil {
		t.Fatalf("writer: %v", err)
	}
	// The consumer sees the flow events alternate and end in the
	// transport's final state.
	if !paused(tr) {
		t.Fatalf("not paused after SetWriteBufferLimits(0, 0) with %d bytes buffered", tr.WriteBufferSize())
	}
	evs := []stream.Event{{Kind: stream.Made}}
	for seen := false; !seen; {
		e := nextAny(t, ch)
		evs = append(evs, e)
		if !isFlow(e.Kind) {
			t.Fatalf("unexpected %v", e)
		}
		seen = e.Kind == stream.PauseWriting
	}
	tr.Abort()
	evs = append(evs, collect(t, ch)...)
	checkTrace(t, evs)
}
