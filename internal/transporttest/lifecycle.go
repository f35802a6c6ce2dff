package transporttest

import (
	"context"
	"errors"
	"net"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var lifecycleTests = []test{
	{"LC1_L1_MadeFirstOnce", testMadeFirstOnce},
	{"LC1_MadeBeforeEarlyPauseWriting", testMadeBeforeEarlyPause},
	{"LC1_MadeWhenClaimedAfterTheEnd", testMadeWhenClaimedLate},
	{"LC1_SecondConsumerRefused", testSecondConsumerRefused},
	{"LC2_L4_LostLastOnceThenClosed", testLostLastOnce},
	{"LC2_ObservableCompletesAfterLost", testObservableCompletes},
	{"LC3_L6_LostNilOnCleanEnd", testLostNilOnCleanEnd},
	{"LC4_L8_CloseIdempotent", testCloseIdempotent},
	{"LC4_L9_IsClosingSticks", testIsClosingSticks},
	{"LC4_L10_NoDataAfterClose", testNoDataAfterClose},
	{"LC4_L11_CloseFlushesThenLost", testCloseFlushes},
	{"LC4_L12_AbortDropsBuffer", testAbortDropsBuffer},
	{"LC4_L13_AbortAfterGracefulClose", testAbortAfterGracefulClose},
	{"LC4_L14_EveryMethodSafeAfterLost", testEveryMethodAfterLost},
	{"LC4_X1_X2_ExtraInfoSurvives", testExtraInfo},
	{"LC5_ReleasesGoroutinesAndFD", testReleases},
	{"LC5_ObservableCancelAborts", testObservableCancel},
}

// cleanEnds are the ways a connection ends cleanly, with Lost(nil).
var cleanEnds = []struct {
	name string
	end  func(t *testing.T, p Pair)
	eof  bool // EOF comes before Lost
}{
	{name: "Close", end: func(t *testing.T, p Pair) { p.Transport.Close(); answerClose(t, p) }},
	{name: "Abort", end: func(t *testing.T, p Pair) { p.Transport.Abort() }},
	{name: "PeerEOF", end: func(t *testing.T, p Pair) { p.Peer.Close() }, eof: true},
}

// claim makes a pair, claims its events and receives Made.
func claim(t *testing.T, newPair NewPair, opts ...transport.Option) (Pair, <-chan stream.Event) {
	t.Helper()
	p := newPair(t, opts...)
	ch := p.Transport.Events()
	expect(t, ch, stream.Made)
	return p, ch
}

func testMadeFirstOnce(t *testing.T, newPair NewPair) {
	p := newPair(t)
	peer := &peerOut{c: p.Peer}
	peer.write(t, 100) // before anything is claimed: Made still comes first
	ch := p.Transport.Events()
	e, _ := next(t, ch)
	if e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	var d dataIn
	d.until(t, ch, 100)
	p.Peer.Close()
	evs := append([]stream.Event{e}, collect(t, ch)...)
	checkTrace(t, evs)
}

// testMadeBeforeEarlyPauseWriting pauses writing before the events are
// claimed: PauseWriting still comes after Made.
func testMadeBeforeEarlyPause(t *testing.T, newPair NewPair) {
	p := newPair(t, transport.WithWriteBufferLimits(0, def))
	w := &out{tr: p.Transport}
	w.fill(t) // high 0: paused
	if !paused(p.Transport) {
		t.Fatalf("not paused with %d bytes buffered and high 0", p.Transport.WriteBufferSize())
	}
	ch := p.Transport.Events()
	if e, _ := next(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v after a pause before the claim, want Made", e)
	}
	expect(t, ch, stream.PauseWriting)
	(&in{c: p.Peer}).read(t, w.off)
	expect(t, ch, stream.ResumeWriting)
}

func testMadeWhenClaimedLate(t *testing.T, newPair NewPair) {
	for _, tc := range cleanEnds {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			tc.end(t, p) // before anything is claimed
			evs := collect(t, p.Transport.Events())
			checkTrace(t, evs)
			want := []stream.Kind{stream.Made, stream.Lost}
			if tc.eof {
				want = []stream.Kind{stream.Made, stream.EOF, stream.Lost}
			}
			if got := kinds(evs); !slices.Equal(got, want) {
				t.Fatalf("trace %v, want %v", got, want)
			}
			if lost := evs[len(evs)-1]; lost.Err != nil {
				t.Fatalf("Lost(%v), want Lost(nil)", lost.Err)
			}
		})
	}
}

func testSecondConsumerRefused(t *testing.T, newPair NewPair) {
	p := newPair(t)
	ch := p.Transport.Events()
	if again := p.Transport.Events(); again != ch {
		t.Errorf("a second Events call returned another channel")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := p.Transport.Observable().Observe(rxgo.WithContext(ctx))
	select {
	case it := <-items:
		if !errors.Is(it.E, stream.ErrAlreadySubscribed) {
			t.Errorf("Observable after Events: item %+v, want the error ErrAlreadySubscribed", it)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Observable after Events: no item within %v", waitTimeout)
	}
	cancel()
	if p.Transport.IsClosing() {
		t.Errorf("a refused subscriber closed the transport")
	}
	// The first consumer still gets every event.
	(&peerOut{c: p.Peer}).write(t, 10)
	expect(t, ch, stream.Made)
	var d dataIn
	d.until(t, ch, 10)
	p.Transport.Close()
	answerClose(t, p)
	expectLost(t, ch)
}

func testLostLastOnce(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(1<<10, transport.DefaultLimit))
	peer := &peerOut{c: p.Peer}
	peer.write(t, 1000)
	var d dataIn
	d.until(t, ch, 1000)
	w := &out{tr: p.Transport}
	w.fill(t) // over high: PauseWriting
	p.Transport.Close()
	r := &in{c: p.Peer}
	if got := r.readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes, want %d", got, w.off)
	}
	answerClose(t, p)
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs) // Lost last, once; collect returned, so the channel is closed
	if got := p.Transport.Events(); got != ch {
		t.Errorf("Events after Lost returned another channel")
	}
	expectClosed(t, ch)
}

func testObservableCompletes(t *testing.T, newPair NewPair) {
	p := newPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := p.Transport.Observable().Observe(rxgo.WithContext(ctx))
	(&peerOut{c: p.Peer}).write(t, 10)
	p.Peer.Close()
	var evs []stream.Event
	for done := false; !done; {
		select {
		case it, ok := <-items:
			if !ok {
				done = true
				break
			}
			if it.E != nil {
				t.Fatalf("error item %v; rxnet emits none", it.E)
			}
			e, isEvent := it.V.(stream.Event)
			if !isEvent {
				t.Fatalf("item value %T, want stream.Event", it.V)
			}
			evs = append(evs, e)
		case <-time.After(waitTimeout):
			t.Fatalf("Observable did not complete within %v; got %v", waitTimeout, kinds(evs))
		}
	}
	checkTrace(t, evs)
	if got := evs[len(evs)-1].Err; got != nil {
		t.Errorf("Lost(%v) after the peer closed, want Lost(nil)", got)
	}
}

func testLostNilOnCleanEnd(t *testing.T, newPair NewPair) {
	for _, tc := range cleanEnds {
		t.Run(tc.name, func(t *testing.T) {
			p, ch := claim(t, newPair)
			tc.end(t, p)
			if tc.eof {
				expect(t, ch, stream.EOF)
			}
			lost := expectLost(t, ch)
			if lost.Err != nil {
				t.Errorf("Lost(%v), want Lost(nil)", lost.Err)
			}
		})
	}
}

func testCloseIdempotent(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	for i := range 3 {
		if err := p.Transport.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	answerClose(t, p)
	expectLost(t, ch)
	if err := p.Transport.Close(); err != nil {
		t.Fatalf("Close after Lost: %v", err)
	}
}

func testIsClosingSticks(t *testing.T, newPair NewPair) {
	for _, tc := range []struct {
		name   string
		end    func(tr transport.Transport)
		answer bool // the peer answers a TLS close_notify
	}{
		{name: "Close", end: func(tr transport.Transport) { tr.Close() }, answer: true},
		{name: "Abort", end: func(tr transport.Transport) { tr.Abort() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ch := claim(t, newPair, transport.WithHalfClose())
			tr := p.Transport
			if tr.IsClosing() {
				t.Fatalf("IsClosing true on a fresh transport")
			}
			err := tr.WriteEOF()
			if p.halfCloses() && err != nil {
				t.Fatalf("WriteEOF: %v", err)
			}
			if !p.halfCloses() && !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("WriteEOF without half-close (TLS 1.2) = %v, want an error matching errors.ErrUnsupported", err)
			}
			if tr.IsClosing() {
				t.Fatalf("IsClosing true after WriteEOF (W13, L9)")
			}
			tc.end(tr)
			if !tr.IsClosing() {
				t.Fatalf("IsClosing false right after %s", tc.name)
			}
			if tc.answer {
				answerClose(t, p)
			}
			expectLost(t, ch)
			if !tr.IsClosing() {
				t.Fatalf("IsClosing false after Lost")
			}
		})
	}
}

func testNoDataAfterClose(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.backUp(t) // so that Close keeps the socket open while it flushes
	p.Transport.Close()
	peer := &peerOut{c: p.Peer}
	peer.write(t, 1000) // the socket is still open: the kernel takes it
	closeWrite(t, p.Peer)
	r := &in{c: p.Peer}
	r.readToEOF(t, isReset) // the unread bytes may turn the close into a reset
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs)
	for _, e := range evs {
		if e.Kind == stream.Data || e.Kind == stream.EOF {
			t.Fatalf("trace %v: %v after Close", kinds(evs), e)
		}
	}
}

func testCloseFlushes(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.backUp(t)
	if err := p.Transport.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if isClosed(p.Transport.Done()) || p.Transport.Err() != nil {
		t.Fatalf("Done closed (Err %v) while Close still flushes", p.Transport.Err())
	}
	r := &in{c: p.Peer}
	if got := r.readToEOF(t, nil); got != w.off {
		t.Fatalf("peer read %d bytes then EOF, want all %d written before Close", got, w.off)
	}
	answerClose(t, p)
	if lost := expectLost(t, ch); lost.Err != nil {
		t.Fatalf("Lost(%v) after a flushed Close, want Lost(nil)", lost.Err)
	}
	checkEnded(t, p.Transport, nil)
	if n := p.Transport.WriteBufferSize(); n != 0 {
		t.Errorf("WriteBufferSize %d after Lost, want 0", n)
	}
}

func testAbortDropsBuffer(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.backUp(t)
	p.Transport.Abort()
	if n := p.Transport.WriteBufferSize(); n != 0 {
		t.Fatalf("WriteBufferSize %d right after Abort, want 0", n)
	}
	p.Transport.Abort()
	if err := p.Transport.Close(); err != nil {
		t.Fatalf("Close after Abort: %v", err)
	}
	r := &in{c: p.Peer}
	if got := r.readToEOF(t, isCut); got >= w.off {
		t.Fatalf("peer read all %d bytes after Abort, want the buffer dropped", got)
	}
	evs := append([]stream.Event{{Kind: stream.Made}}, collect(t, ch)...)
	checkTrace(t, evs)
	if lost := evs[len(evs)-1]; lost.Err != nil {
		t.Fatalf("Lost(%v) after Abort, want Lost(nil)", lost.Err)
	}
}

func testAbortAfterGracefulClose(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	w := &out{tr: p.Transport}
	w.backUp(t)
	p.Transport.Close()
	r := &in{c: p.Peer}
	r.readToEOF(t, nil)
	answerClose(t, p)
	expectLost(t, ch)
	p.Transport.Abort() // L13: a no-op, not a panic
	if !p.Transport.IsClosing() {
		t.Fatalf("IsClosing false after Abort after Lost")
	}
}

func testEveryMethodAfterLost(t *testing.T, newPair NewPair) {
	for _, tc := range cleanEnds {
		t.Run(tc.name, func(t *testing.T) {
			p, ch := claim(t, newPair)
			tr := p.Transport
			peerBefore, _ := tr.ExtraInfo(transport.InfoPeername)
			tc.end(t, p)
			if tc.eof {
				expect(t, ch, stream.EOF)
			}
			expectLost(t, ch)
			callEverything(t, tr, ch)
			if v, ok := tr.ExtraInfo(transport.InfoPeername); !ok || v.(net.Addr).String() != peerBefore.(net.Addr).String() {
				t.Errorf(`ExtraInfo("peername") after Lost = %v, %v; want %v, true`, v, ok, peerBefore)
			}
		})
	}
}

// callEverything calls every Transport method on a transport that has
// delivered Lost, checking the results asyncio's L14 and WR2 ask for.
func callEverything(t *testing.T, tr transport.Transport, ch <-chan stream.Event) {
	t.Helper()
	if n, err := tr.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Lost = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	if n, err := tr.WriteBuffers([][]byte{[]byte("x")}); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffers after Lost = %d, %v; want 0 and an error matching net.ErrClosed", n, err)
	}
	tr.Write(nil)
	tr.WriteEOF()
	tr.CanWriteEOF()
	tr.PauseReading()
	tr.ResumeReading()
	if tr.IsReading() {
		t.Errorf("IsReading true after Lost")
	}
	if !tr.IsClosing() {
		t.Errorf("IsClosing false after Lost")
	}
	if n := tr.WriteBufferSize(); n != 0 {
		t.Errorf("WriteBufferSize %d after Lost, want 0", n)
	}
	tr.WriteBufferLimits()
	if err := tr.SetWriteBufferLimits(100, 10); err != nil {
		t.Errorf("SetWriteBufferLimits(100, 10) after Lost: %v", err)
	}
	if err := tr.SetWriteBufferLimits(-1, 10); err == nil {
		t.Errorf("SetWriteBufferLimits(-1, 10) after Lost: nil error")
	}
	if !isClosed(tr.Writable()) {
		t.Errorf("Writable not closed after Lost: nothing is paused")
	}
	if err := tr.Drain(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Drain after Lost = %v, want an error matching net.ErrClosed", err)
	}
	select { // after the peer's EOF, Lost comes before the close's flush (DESIGN.md)
	case <-tr.Done():
	case <-time.After(waitTimeout):
		t.Fatalf("Done not closed after Lost")
	}
	if !closedFD(t, tr) {
		t.Errorf("the descriptor is still open once Done (LC5)")
	}
	tr.LocalAddr()
	tr.RemoteAddr()
	tr.ConnectionState()
	if _, ok := tr.ExtraInfo("no such key"); ok {
		t.Errorf(`ExtraInfo("no such key") reported ok`)
	}
	if got := tr.Events(); got != ch {
		t.Errorf("Events after Lost returned another channel")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("Close after Lost: %v", err)
	}
	tr.Abort()
	expectClosed(t, ch)
}

// addrString formats an address, nil included.
func addrString(a any) string {
	if a, ok := a.(net.Addr); ok && a != nil && !reflect.ValueOf(a).IsNil() {
		return a.String()
	}
	return ""
}

func testExtraInfo(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	check := func(when string) {
		t.Helper()
		for _, tc := range []struct {
			key  string
			want net.Addr
		}{
			{key: transport.InfoPeername, want: p.Peer.LocalAddr()},
			{key: transport.InfoSockname, want: p.Peer.RemoteAddr()},
		} {
			v, ok := tr.ExtraInfo(tc.key)
			if want := addrString(tc.want); want != "" && (!ok || addrString(v) != want) {
				t.Errorf("%s: ExtraInfo(%q) = %v, %v; want %v, true", when, tc.key, v, ok, want)
			}
		}
		if v, ok := tr.ExtraInfo(transport.InfoSocket); !ok || v == nil {
			t.Errorf(`%s: ExtraInfo("socket") = %v, %v; want the socket`, when, v, ok)
		}
		if v, ok := tr.ExtraInfo("nope"); ok || v != nil {
			t.Errorf(`%s: ExtraInfo("nope") = %v, %v; want nil, false`, when, v, ok)
		}
	}
	check("open")
	tr.Close()
	answerClose(t, p)
	expectLost(t, ch)
	check("after Lost")
}

func testReleases(t *testing.T, newPair NewPair) {
	p := newPair(t, transport.WithWriteBufferLimits(1<<10, transport.DefaultLimit))
	before := goleak.IgnoreCurrent()
	ch := p.Transport.Events()
	expect(t, ch, stream.Made)
	peer := &peerOut{c: p.Peer}
	peer.write(t, 1000)
	var d dataIn
	d.until(t, ch, 1000)
	w := &out{tr: p.Transport}
	w.backUp(t) // a flush goroutine, flow events
	p.Transport.Close()
	(&in{c: p.Peer}).readToEOF(t, nil)
	answerClose(t, p)
	expectLost(t, ch)
	if !closedFD(t, p.Transport) {
		t.Errorf("the descriptor is still open after Lost")
	}
	goleak.VerifyNone(t, before)
}

func testObservableCancel(t *testing.T, newPair NewPair) {
	p := newPair(t)
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := p.Transport.Observable().Observe(rxgo.WithContext(ctx))
	select {
	case it := <-items:
		if e, _ := it.V.(stream.Event); e.Kind != stream.Made {
			t.Fatalf("first item %+v, want Made", it)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("no Made within %v", waitTimeout)
	}
	cancel()
	// Cancelling the subscription aborts the transport: the peer sees the
	// connection end.
	(&in{c: p.Peer}).readToEOF(t, isCut)
	if !p.Transport.IsClosing() {
		t.Errorf("IsClosing false after the subscription's context ended")
	}
	drainItems(t, items) // rxgo closes it once the producer returns
	if !closedFD(t, p.Transport) {
		t.Errorf("the descriptor is still open after the subscription ended")
	}
	goleak.VerifyNone(t, before)
}

// drainItems receives items until rxgo closes the channel, failing the
// test after waitTimeout.
func drainItems(t *testing.T, items <-chan rxgo.Item) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		select {
		case _, ok := <-items:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("the Observable did not complete within %v", waitTimeout)
		}
	}
}
