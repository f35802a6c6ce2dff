//go:build linux

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Write flow control needs a socket that says EAGAIN: a connected
// unixgram socket does once its peer's receive queue is full (Linux's
// net.unix.max_dgram_qlen), and nothing moves until the peer reads. UDP on
// loopback almost never blocks, so these tests use unixgram.

// stalledDg is a connected unixgram endpoint whose raw peer reads only
// when the test says so.
type stalledDg struct {
	tr   transport.DatagramTransport
	ch   <-chan stream.Event
	peer net.PacketConn
	sent [][]byte // every datagram SendTo accepted, in order
	read int      // how many of them the peer read
}

func newStalledDg(t *testing.T, opts ...transport.Option) *stalledDg {
	t.Helper()
	peer := rawPeer(t, "unixgram")
	tr := dialDg(t, "unixgram", peer.LocalAddr().String(), opts...)
	return &stalledDg{tr: tr, ch: claimDg(t, tr), peer: peer}
}

// send sends the next numbered datagram, size bytes long (exactly size,
// even below 4: then it is not numbered).
func (s *stalledDg) send(t testing.TB, size int) {
	t.Helper()
	b := seqDatagram(len(s.sent), size)[:size]
	if err := s.tr.SendTo(b, nil); err != nil {
		t.Fatalf("SendTo #%d (%d bytes): %v", len(s.sent), size, err)
	}
	s.sent = append(s.sent, b)
}

// fill sends datagrams of size bytes until the endpoint queues one: the
// kernel takes no more while the peer does not read.
func (s *stalledDg) fill(t testing.TB, size int) {
	t.Helper()
	for start := len(s.sent); s.tr.WriteBufferSize() == 0; {
		if len(s.sent)-start > 100000 {
			t.Fatalf("sent %d datagrams to a peer that does not read and none was queued", len(s.sent)-start)
		}
		s.send(t, size)
	}
}

// peerRead reads n datagrams at the peer, checking they are the next ones
// sent, whole and in order (D5).
func (s *stalledDg) peerRead(t testing.TB, n int) {
	t.Helper()
	for range n {
		b, _ := peerRecv(t, s.peer)
		if s.read >= len(s.sent) || !bytes.Equal(b, s.sent[s.read]) {
			t.Fatalf("peer datagram %d (%d bytes) is not datagram %d of %d sent", s.read, len(b), s.read, len(s.sent))
		}
		s.read++
	}
}

// peerReadAll reads every datagram sent and not yet read.
func (s *stalledDg) peerReadAll(t testing.TB) { t.Helper(); s.peerRead(t, len(s.sent)-s.read) }

// paused reports whether writing is paused, by Writable.
func (s *stalledDg) paused() bool { return !gateOpen(s.tr.Writable()) }

// limits sets the write buffer limits, failing the test on error.
func (s *stalledDg) limits(t testing.TB, high, low int) {
	t.Helper()
	if err := s.tr.SetWriteBufferLimits(high, low); err != nil {
		t.Fatalf("SetWriteBufferLimits(%d, %d): %v", high, low, err)
	}
}

// expectFlow expects k as the next event and checks Writable agrees.
func (s *stalledDg) expectFlow(t testing.TB, k stream.Kind) {
	t.Helper()
	dgExpect(t, s.ch, k)
}

// noEvent fails the test if an event is already waiting.
func (s *stalledDg) noEvent(t testing.TB, why string) {
	t.Helper()
	if evs := transporttest.DrainQueued(s.ch); len(evs) > 0 {
		t.Fatalf("%s: got %v, want no event", why, evs)
	}
}

// waitFor polls cond, yielding, until it holds; it fails the test after
// waitTimeout. Used where the kernel or the flush goroutine moves and
// there is no event to wait on.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// tryRecv reads one datagram at the peer if one is there, without waiting.
func tryRecv(t testing.TB, pc net.PacketConn) ([]byte, bool) {
	t.Helper()
	rc, err := pc.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if errors.Is(rerr, unix.EAGAIN) {
		return nil, false
	}
	if rerr != nil {
		t.Fatalf("peer recvfrom: %v", rerr)
	}
	return buf[:n], true
}

// TestWR3_DatagramLimits checks the default limits (65536, 16384), the
// derivation rules, and that a rejected SetWriteBufferLimits changes
// nothing.
func TestWR3_DatagramLimits(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		tr := newDgPair(t, network, connected).tr
		if high, low := tr.WriteBufferLimits(); high != 65536 || low != 16384 {
			t.Fatalf("default limits %d, %d; want 65536, 16384", high, low)
		}
		for _, tc := range []struct{ high, low, wantHigh, wantLow int }{
			{def, def, 65536, 16384},
			{1000, def, 1000, 250},
			{def, 1000, 4000, 1000},
			{3, def, 3, 0},
			{0, def, 0, 0},
			{0, 10, 0, 0},
			{100, 100, 100, 100},
			{10, 20, -1, -1}, // -1: an error
			{-1, def, -1, -1},
			{def, -1, -1, -1},
			{10, -1, -1, -1},
			{0, -1, -1, -1},
		} {
			if err := tr.SetWriteBufferLimits(7000, 700); err != nil {
				t.Fatal(err)
			}
			err := tr.SetWriteBufferLimits(tc.high, tc.low)
			high, low := tr.WriteBufferLimits()
			if tc.wantHigh < 0 {
				if err == nil || high != 7000 || low != 700 {
					t.Errorf("SetWriteBufferLimits(%d, %d) = %v, limits %d, %d; want an error and 7000, 700", tc.high, tc.low, err, high, low)
				}
			} else if err != nil || high != tc.wantHigh || low != tc.wantLow {
				t.Errorf("SetWriteBufferLimits(%d, %d) = %v, limits %d, %d; want %d, %d", tc.high, tc.low, err, high, low, tc.wantHigh, tc.wantLow)
			}
		}
	})
}

// TestRD3_DatagramPauseReading checks PauseReading on a channel
// consumer: with nothing in flight, no Datagram comes while paused; with
// the channel full, what comes after PauseReading is at most the event
// buffer plus the one read in flight, then nothing; after ResumeReading
// the rest follows in order.
func TestRD3_DatagramPauseReading(t *testing.T) {
	const total = 40
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, false, transport.WithEventBuffer(8))
		ch := claimDg(t, p.tr)
		for i := range 5 {
			p.peerSend(t, seqDatagram(i, 64))
		}
		expectSeq(t, ch, 0, 5, p.peer.LocalAddr())
		p.tr.PauseReading()
		if p.tr.IsReading() {
			t.Fatalf("IsReading true after PauseReading")
		}
		sent := make(chan error, 1)
		go func() { // unixgram: blocks while the kernel's queue is full
			p.peer.SetWriteDeadline(time.Now().Add(waitTimeout))
			for i := 5; i < total; i++ {
				if _, err := p.peer.WriteTo(seqDatagram(i, 64), p.trAddr); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		quietFor(t, ch, "paused with nothing in flight")
		p.tr.ResumeReading()
		if !p.tr.IsReading() {
			t.Fatalf("IsReading false after ResumeReading")
		}
		// Now let the channel fill up, then pause.
		deadline := time.Now().Add(waitTimeout)
		for len(ch) < cap(ch) {
			if time.Now().After(deadline) {
				t.Fatalf("the channel holds %d of %d events", len(ch), cap(ch))
			}
			runtime.Gosched()
		}
		p.tr.PauseReading()
		next := 5
		for more := true; more; {
			select {
			case e := <-ch:
				if e.Kind != stream.Datagram {
					t.Fatalf("unexpected %v", e)
				}
				checkSeq(t, e.Data, next)
				next++
			case <-time.After(dgQuiet):
				more = false
			}
		}
		if got, bound := next-5, cap(ch)+1; got > bound {
			t.Fatalf("%d datagrams after PauseReading, want at most %d (the event buffer and one read)", got, bound)
		}
		p.tr.ResumeReading()
		expectSeq(t, ch, next, total, p.peer.LocalAddr())
		if err := <-sent; err != nil {
			t.Fatalf("peer WriteTo: %v", err)
		}
	})
}

// TestRD3_DatagramIsReading checks IsReading through pause, resume (both
// idempotent) and Close, after which ResumeReading is a no-op.
func TestRD3_DatagramIsReading(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, true)
		ch := claimDg(t, p.tr)
		if !p.tr.IsReading() {
			t.Fatalf("IsReading false on a claimed endpoint")
		}
		p.tr.PauseReading()
		p.tr.PauseReading()
		if p.tr.IsReading() {
			t.Fatalf("IsReading true after PauseReading twice")
		}
		p.tr.ResumeReading()
		p.tr.ResumeReading()
		if !p.tr.IsReading() {
			t.Fatalf("IsReading false after ResumeReading twice")
		}
		p.peerSend(t, seqDatagram(0, 10))
		expectSeq(t, ch, 0, 1, nil)
		p.tr.Close()
		if p.tr.IsReading() {
			t.Fatalf("IsReading true after Close")
		}
		p.tr.ResumeReading()
		if p.tr.IsReading() {
			t.Fatalf("IsReading true after Close and ResumeReading")
		}
		dgExpectLost(t, ch)
	})
}

// TestLC1_DatagramMadeBeforeEarlyPauseWriting pauses writing before the
// events are claimed: Made still comes first, then PauseWriting, then
// ResumeWriting once the peer reads.
func TestLC1_DatagramMadeBeforeEarlyPauseWriting(t *testing.T) {
	peer := rawPeer(t, "unixgram")
	s := &stalledDg{tr: dialDg(t, "unixgram", peer.LocalAddr().String(), transport.WithWriteBufferLimits(0, 0)), peer: peer}
	s.fill(t, 100)
	if !s.paused() {
		t.Fatalf("not paused with %d bytes queued and high 0", s.tr.WriteBufferSize())
	}
	s.ch = s.tr.Events()
	if e, _ := dgNext(t, s.ch); e.Kind != stream.Made {
		t.Fatalf("first event %v after a pause before the claim, want Made", e)
	}
	dgExpect(t, s.ch, stream.PauseWriting)
	s.peerReadAll(t)
	dgExpect(t, s.ch, stream.ResumeWriting)
}

// TestF15_BufferReturnsToZero queues datagrams of many sizes (0
// included) and checks that each counts exactly len+DatagramOverhead in
// WriteBufferSize, and that after the flush the size is exactly 0 again:
// with limits (0, 0), ResumeWriting comes only at 0 (a drift upwards, as
// in CPython's gh-135444, would leave it paused for ever). Three rounds.
func TestF15_BufferReturnsToZero(t *testing.T) {
	s := newStalledDg(t, transport.WithWriteBufferLimits(1<<30, def))
	for round := range 3 {
		s.fill(t, 500)
		want := 500 + transport.DatagramOverhead
		if got := s.tr.WriteBufferSize(); got != want {
			t.Fatalf("round %d: one 500-byte datagram queued counts %d, want %d", round, got, want)
		}
		for _, n := range []int{0, 4, 1, 100, 1000, 4000, 0, 3} {
			s.send(t, n)
			want += n + transport.DatagramOverhead
			if got := s.tr.WriteBufferSize(); got != want {
				t.Fatalf("round %d: after queuing %d bytes WriteBufferSize = %d, want %d", round, n, got, want)
			}
		}
		s.limits(t, 0, 0)
		s.expectFlow(t, stream.PauseWriting)
		s.peerReadAll(t)
		s.expectFlow(t, stream.ResumeWriting)
		if got := s.tr.WriteBufferSize(); got != 0 {
			t.Fatalf("round %d: WriteBufferSize %d after the flush, want 0", round, got)
		}
		s.limits(t, 1<<30, def)
	}
}

// TestWR4_DatagramPauseStrictlyOverHigh checks that a size equal to high
// does not pause and one over it does, by SendTo and by
// SetWriteBufferLimits, and that the limits resume at once too.
func TestWR4_DatagramPauseStrictlyOverHigh(t *testing.T) {
	s := newStalledDg(t, transport.WithWriteBufferLimits(1<<30, def))
	s.fill(t, 1000)
	high := s.tr.WriteBufferSize() + 100 + transport.DatagramOverhead
	s.limits(t, high, 0)
	s.send(t, 100)
	if got := s.tr.WriteBufferSize(); got != high {
		t.Fatalf("WriteBufferSize %d, want %d", got, high)
	}
	if s.paused() {
		t.Fatalf("paused with size == high %d", high)
	}
	s.noEvent(t, "size == high")
	s.send(t, 4)
	if !s.paused() {
		t.Fatalf("not paused with size %d > high %d", s.tr.WriteBufferSize(), high)
	}
	s.expectFlow(t, stream.PauseWriting)

	s.limits(t, 1<<30, 1<<29)
	if s.paused() {
		t.Fatalf("SetWriteBufferLimits over the size did not resume")
	}
	s.expectFlow(t, stream.ResumeWriting)
	size := s.tr.WriteBufferSize()
	s.limits(t, size, 0)
	if s.paused() {
		t.Fatalf("SetWriteBufferLimits(%d, 0) paused with size %d", size, size)
	}
	s.noEvent(t, "high set to the size")
	s.limits(t, size-1, 0)
	if !s.paused() {
		t.Fatalf("SetWriteBufferLimits(%d, 0) did not pause with size %d", size-1, size)
	}
	s.expectFlow(t, stream.PauseWriting)
	s.peerReadAll(t)
	s.expectFlow(t, stream.ResumeWriting)
}

// TestWR4_DatagramResumeAtOrBelowLow checks that a paused endpoint stays
// paused at low+1 and resumes at low, by SetWriteBufferLimits; then, as
// the peer reads one datagram at a time, that it is never resumed while
// the size is over low and that ResumeWriting comes once it is not.
func TestWR4_DatagramResumeAtOrBelowLow(t *testing.T) {
	const size = 1000
	s := newStalledDg(t, transport.WithWriteBufferLimits(1<<30, def))
	s.fill(t, size)
	for range 9 {
		s.send(t, size)
	}
	s.limits(t, 0, 0)
	s.expectFlow(t, stream.PauseWriting)
	total := s.tr.WriteBufferSize()
	s.limits(t, total, total-1)
	if !s.paused() {
		t.Fatalf("resumed with size %d > low %d", total, total-1)
	}
	s.noEvent(t, "size == low+1")
	s.limits(t, total, total)
	if s.paused() {
		t.Fatalf("still paused with size == low %d", total)
	}
	s.expectFlow(t, stream.ResumeWriting)

	s.limits(t, 0, 0)
	s.expectFlow(t, stream.PauseWriting)
	low := total - 3*(size+transport.DatagramOverhead)
	s.limits(t, total, low)
	for prev := total; prev > low; {
		s.peerRead(t, 1) // a slot in the peer's queue: the flush sends one more
		waitFor(t, "the flush to send a queued datagram", func() bool { return s.tr.WriteBufferSize() < prev })
		resumed := !s.paused()
		prev = s.tr.WriteBufferSize() // only goes down: nobody sends
		if resumed && prev > low {
			t.Fatalf("resumed with size %d > low %d", prev, low)
		}
	}
	s.expectFlow(t, stream.ResumeWriting)
	if s.paused() {
		t.Fatalf("Writable not closed after ResumeWriting")
	}
}

// TestWR4_DatagramAlternateWithWritable runs three pause/resume rounds:
// PauseWriting when over high, none again while paused, ResumeWriting
// once the peer has read, and Writable closed exactly when not paused.
func TestWR4_DatagramAlternateWithWritable(t *testing.T) {
	const high, low = 8 << 10, 2 << 10
	s := newStalledDg(t, transport.WithWriteBufferLimits(high, low))
	if s.paused() {
		t.Fatalf("Writable not closed on a fresh endpoint")
	}
	for round := range 3 {
		for !s.paused() {
			if len(s.sent)-s.read > 10000 {
				t.Fatalf("round %d: no pause after %d datagrams", round, len(s.sent)-s.read)
			}
			s.send(t, 1000)
		}
		if n := s.tr.WriteBufferSize(); n <= high {
			t.Fatalf("round %d: paused with size %d <= high %d", round, n, high)
		}
		s.expectFlow(t, stream.PauseWriting)
		gate := s.tr.Writable()
		for range 5 {
			s.send(t, 1000)
		}
		s.noEvent(t, "more datagrams while paused")
		s.peerReadAll(t)
		s.expectFlow(t, stream.ResumeWriting)
		if n := s.tr.WriteBufferSize(); n > low {
			t.Fatalf("round %d: resumed with %d bytes queued, over low %d", round, n, low)
		}
		if !gateOpen(gate) || s.paused() {
			t.Fatalf("round %d: Writable not closed after ResumeWriting", round)
		}
	}
	s.tr.Close()
	if lost := dgExpectLost(t, s.ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want nil", lost.Err)
	}
}

// TestWR5_DatagramDrain checks Drain: nil at once when not paused,
// ctx.Err() on a cancelled context while paused, nil for every waiter
// after the resume, net.ErrClosed for a waiter when the endpoint is
// closed or aborted, and after Lost.
func TestWR5_DatagramDrain(t *testing.T) {
	for _, end := range []string{"Close", "Abort"} {
		t.Run(end, func(t *testing.T) {
			s := newStalledDg(t, transport.WithWriteBufferLimits(0, 0))
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := s.tr.Drain(ctx); err != nil {
				t.Fatalf("Drain on an idle endpoint: %v", err)
			}
			s.fill(t, 1000)
			s.expectFlow(t, stream.PauseWriting)
			done, stop := context.WithCancel(context.Background())
			stop()
			if err := s.tr.Drain(done); !errors.Is(err, context.Canceled) {
				t.Fatalf("Drain(cancelled ctx) while paused = %v, want context.Canceled", err)
			}
			drains := func(n int) chan error {
				errs := make(chan error, n)
				for range n {
					go func() { errs <- s.tr.Drain(ctx) }()
				}
				return errs
			}
			errs := drains(3)
			s.peerReadAll(t)
			s.expectFlow(t, stream.ResumeWriting)
			for range 3 {
				if err := waitErr(t, errs); err != nil {
					t.Fatalf("Drain after the resume: %v", err)
				}
			}
			s.fill(t, 1000)
			s.expectFlow(t, stream.PauseWriting)
			errs = drains(2)
			if end == "Close" {
				s.tr.Close() // still flushing: the peer does not read
			} else {
				s.tr.Abort()
			}
			for range 2 {
				if err := waitErr(t, errs); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("Drain during %s = %v, want net.ErrClosed", end, err)
				}
			}
			if end == "Close" {
				s.peerReadAll(t)
			}
			dgExpectLost(t, s.ch)
			if err := s.tr.Drain(ctx); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Drain after Lost = %v, want net.ErrClosed", err)
			}
		})
	}
}

// waitErr receives one error, failing the test after waitTimeout.
func waitErr(t testing.TB, errs <-chan error) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("no result within %v", waitTimeout)
		return nil
	}
}

// TestWR6_DatagramFlowEventsNeverBlockSendTo pauses and resumes hundreds
// of times, by SendTo and SetWriteBufferLimits, while nobody reads the
// events (a 2-event channel): no call blocks, and the consumer then sees
// the flow events alternate, starting with PauseWriting.
func TestWR6_DatagramFlowEventsNeverBlockSendTo(t *testing.T) {
	s := newStalledDg(t, transport.WithEventBuffer(2), transport.WithWriteBufferLimits(1<<30, def))
	s.fill(t, 100)
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for i := range 500 {
				if err := s.tr.SetWriteBufferLimits(1<<30, 1<<29); err != nil { // resume
					return err
				}
				if err := s.tr.SetWriteBufferLimits(s.tr.WriteBufferSize(), 0); err != nil {
					return err
				}
				if err := s.tr.SendTo([]byte{byte(i)}, nil); err != nil { // over high: pause
					return err
				}
			}
			return nil
		}()
	}()
	if err := waitErr(t, done); err != nil {
		t.Fatalf("SendTo and SetWriteBufferLimits with a full event channel: %v", err)
	}
	if !s.paused() {
		t.Fatalf("not paused after the last SendTo")
	}
	s.tr.Abort()
	paused := false
	for {
		e, ok := dgNext(t, s.ch)
		if !ok {
			t.Fatalf("channel closed without Lost")
		}
		switch {
		case e.Kind == stream.Lost:
			dgExpectClosed(t, s.ch)
			return
		case e.Kind != stream.PauseWriting && e.Kind != stream.ResumeWriting:
			t.Fatalf("unexpected %v", e)
		case (e.Kind == stream.PauseWriting) == paused:
			t.Fatalf("%v does not alternate", e)
		}
		paused = !paused
	}
}

// dgExpectClosed fails the test unless the channel is closed and empty.
func dgExpectClosed(t testing.TB, ch <-chan stream.Event) {
	t.Helper()
	if e, ok := dgNext(t, ch); ok {
		t.Fatalf("got %v after Lost, want the channel closed", e)
	}
}
