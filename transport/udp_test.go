//go:build linux

package transport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// dgNetworks are the networks every datagram test runs over.
var dgNetworks = []string{"udp", "unixgram"}

// dgQuiet is how long a test watches for an event that must not come
// (there is no event for "nothing happened"). A slow machine only makes
// such a check more lenient, never wrong.
const dgQuiet = 200 * time.Millisecond

// forDg runs f once per datagram network, as a subtest named after it.
func forDg(t *testing.T, f func(t *testing.T, network string)) {
	for _, network := range dgNetworks {
		t.Run(network, func(t *testing.T) { f(t, network) })
	}
}

// forDgModes runs f per network, for an unconnected endpoint
// (ListenPacket) and a connected one (DialPacket).
func forDgModes(t *testing.T, f func(t *testing.T, network string, connected bool)) {
	forDg(t, func(t *testing.T, network string) {
		for _, connected := range []bool{false, true} {
			name := "ListenPacket"
			if connected {
				name = "DialPacket"
			}
			t.Run(name, func(t *testing.T) { f(t, network, connected) })
		}
	})
}

// rawPeer is a plain bound socket on network, closed when the test ends.
func rawPeer(t testing.TB, network string) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket(network, transporttest.LocalAddr(t, network))
	if err != nil {
		t.Fatalf("net.ListenPacket: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// listenDg makes an unconnected endpoint, aborted when the test ends.
func listenDg(t testing.TB, network string, opts ...transport.Option) transport.DatagramTransport {
	t.Helper()
	tr, err := transport.ListenPacket(context.Background(), network, transporttest.LocalAddr(t, network), opts...)
	if err != nil {
		t.Fatalf("ListenPacket(%s): %v", network, err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// dialDg makes an endpoint connected to raddr, bound first on unixgram so
// that its peer can answer; aborted when the test ends.
func dialDg(t testing.TB, network, raddr string, opts ...transport.Option) transport.DatagramTransport {
	t.Helper()
	if network == "unixgram" {
		opts = append([]transport.Option{transport.WithLocalAddr(transporttest.LocalAddr(t, network))}, opts...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.DialPacket(ctx, network, raddr, opts...)
	if err != nil {
		t.Fatalf("DialPacket(%s, %s): %v", network, raddr, err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// dgPair is an endpoint and a raw peer socket that can reach each other.
type dgPair struct {
	tr     transport.DatagramTransport
	peer   net.PacketConn
	trAddr net.Addr // the endpoint's address, for the peer
	to     net.Addr // SendTo's address for the peer: nil when connected
}

// newDgPair makes an endpoint (connected to the peer or not) and its peer.
func newDgPair(t testing.TB, network string, connected bool, opts ...transport.Option) dgPair {
	t.Helper()
	p := dgPair{peer: rawPeer(t, network)}
	if connected {
		p.tr = dialDg(t, network, p.peer.LocalAddr().String(), opts...)
	} else {
		p.tr = listenDg(t, network, opts...)
		p.to = p.peer.LocalAddr()
	}
	p.trAddr = sockname(t, p.tr)
	return p
}

// sendTo sends b through the endpoint to the peer.
func (p dgPair) sendTo(t testing.TB, b []byte) {
	t.Helper()
	if err := p.tr.SendTo(b, p.to); err != nil {
		t.Fatalf("SendTo(%d bytes, %v): %v", len(b), p.to, err)
	}
}

// peerSend sends b from the peer to the endpoint.
func (p dgPair) peerSend(t testing.TB, b []byte) {
	t.Helper()
	p.peer.SetWriteDeadline(time.Now().Add(waitTimeout))
	defer p.peer.SetWriteDeadline(time.Time{})
	if _, err := p.peer.WriteTo(b, p.trAddr); err != nil {
		t.Fatalf("peer WriteTo: %v", err)
	}
}

// peerRecv reads one datagram on a raw socket, failing after waitTimeout.
func peerRecv(t testing.TB, pc net.PacketConn) ([]byte, net.Addr) {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(waitTimeout))
	defer pc.SetReadDeadline(time.Time{})
	buf := make([]byte, 128<<10)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer ReadFrom: %v", err)
	}
	return buf[:n], from
}

// sockname returns the endpoint's "sockname".
func sockname(t testing.TB, tr transport.DatagramTransport) net.Addr {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSockname)
	a, isAddr := v.(net.Addr)
	if !ok || !isAddr || a == nil {
		t.Fatalf(`ExtraInfo("sockname") = %v, %v; want a net.Addr`, v, ok)
	}
	return a
}

// rawConnOf returns the endpoint's "socket".
func rawConnOf(t testing.TB, tr transport.BaseTransport) syscall.RawConn {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSocket)
	rc, isRaw := v.(syscall.RawConn)
	if !ok || !isRaw {
		t.Fatalf(`ExtraInfo("socket") = %T, %v; want a syscall.RawConn`, v, ok)
	}
	return rc
}

// seqDatagram returns datagram number seq, size bytes long (at least 4):
// seq first, then bytes derived from it.
func seqDatagram(seq, size int) []byte {
	b := make([]byte, max(size, 4))
	binary.BigEndian.PutUint32(b, uint32(seq))
	for i := 4; i < len(b); i++ {
		b[i] = byte(seq*7 + i)
	}
	return b
}

// checkSeq fails the test unless b is seqDatagram(want, len(b)).
func checkSeq(t testing.TB, b []byte, want int) {
	t.Helper()
	if len(b) < 4 {
		t.Fatalf("datagram of %d bytes, want #%d", len(b), want)
	}
	if got := int(binary.BigEndian.Uint32(b)); got != want || string(b) != string(seqDatagram(got, len(b))) {
		t.Fatalf("got datagram #%d (%d bytes), want #%d intact", got, len(b), want)
	}
}

// dgNext returns the next event; ok is false once the channel is closed.
func dgNext(t testing.TB, ch <-chan stream.Event) (stream.Event, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(waitTimeout):
		t.Fatalf("no event within %v", waitTimeout)
		return stream.Event{}, false
	}
}

// dgExpect returns the next event, failing unless it has kind k.
func dgExpect(t testing.TB, ch <-chan stream.Event, k stream.Kind) stream.Event {
	t.Helper()
	e, ok := dgNext(t, ch)
	if !ok || e.Kind != k {
		t.Fatalf("got %v (open %v), want %v", e, ok, k)
	}
	return e
}

// dgExpectLost skips flow events, expects Lost, then the channel closed.
func dgExpectLost(t testing.TB, ch <-chan stream.Event) stream.Event {
	t.Helper()
	return dgWasLost(t, ch, transporttest.NextNonFlow(t, ch))
}

// dgWasLost fails unless e, just received from ch, is Lost and ch then
// closes; it returns e.
func dgWasLost(t testing.TB, ch <-chan stream.Event, e stream.Event) stream.Event {
	t.Helper()
	if e.Kind != stream.Lost {
		t.Fatalf("got %v, want Lost", e)
	}
	if e2, ok := dgNext(t, ch); ok {
		t.Fatalf("got %v after Lost, want the channel closed", e2)
	}
	return e
}

// claimDg claims the events and receives Made.
func claimDg(t testing.TB, tr transport.DatagramTransport) <-chan stream.Event {
	t.Helper()
	ch := tr.Events()
	dgExpect(t, ch, stream.Made)
	return ch
}

// expectSeq receives Datagram events numbered from..to-1 from sender.
func expectSeq(t testing.TB, ch <-chan stream.Event, from, to int, sender net.Addr) {
	t.Helper()
	for i := from; i < to; i++ {
		e := dgExpect(t, ch, stream.Datagram)
		checkSeq(t, e.Data, i)
		if sender != nil && (e.Addr == nil || e.Addr.String() != sender.String()) {
			t.Fatalf("datagram #%d from %v, want %v", i, e.Addr, sender)
		}
	}
}

// quietFor fails the test if any event arrives within dgQuiet.
func quietFor(t testing.TB, ch <-chan stream.Event, why string) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("%s: got %v, want nothing", why, e)
	case <-time.After(dgQuiet):
	}
}

// gateOpen reports whether a Writable channel is closed: not paused.
func gateOpen(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// drainObs receives items until rxgo closes the channel, failing the test
// after waitTimeout.
func drainObs(t testing.TB, items <-chan rxgo.Item) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for open := true; open; {
		select {
		case _, open = <-items:
		case <-timeout:
			t.Fatalf("the Observable did not complete within %v", waitTimeout)
		}
	}
}

// fdClosed reports whether the endpoint's descriptor is closed.
func fdClosed(t testing.TB, tr transport.BaseTransport) bool {
	t.Helper()
	return rawConnOf(t, tr).Control(func(uintptr) {}) != nil
}

// TestLC1_LC2_LC5_DatagramMadeFirstLostLast checks, for both kinds of
// endpoint, that Made comes first even for datagrams sent before the
// claim, then every datagram with its sender, then Lost(nil) once after
// Close, and the channel closes; Events keeps returning that channel, the
// descriptor is closed and no goroutine is left (LC5).
func TestLC1_LC2_LC5_DatagramMadeFirstLostLast(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		p := newDgPair(t, network, connected)
		before := goleak.IgnoreCurrent()
		for i := range 3 {
			p.peerSend(t, seqDatagram(i, 100)) // before the claim
		}
		ch := p.tr.Events()
		if e, _ := dgNext(t, ch); e.Kind != stream.Made {
			t.Fatalf("first event %v, want Made", e)
		}
		expectSeq(t, ch, 0, 3, p.peer.LocalAddr())
		p.sendTo(t, seqDatagram(3, 10)) // a write too
		b, _ := peerRecv(t, p.peer)
		checkSeq(t, b, 3)
		p.tr.Close()
		if lost := dgExpectLost(t, ch); lost.Err != nil {
			t.Fatalf("Lost(%v) after Close, want Lost(nil)", lost.Err)
		}
		if p.tr.Events() != ch {
			t.Fatalf("Events after Lost returned another channel")
		}
		if !fdClosed(t, p.tr) {
			t.Errorf("the descriptor is still open after Lost")
		}
		goleak.VerifyNone(t, before)
	})
}

// TestLC3_LC4_DatagramLostNilOnCloseAndAbort checks Lost(nil) for Close
// and Abort, on a running endpoint and on one closed before its events
// were claimed (which still gets Made first, LC1); Close and Abort are
// idempotent (Close returns nil again, Abort after Close changes nothing)
// and IsClosing sticks.
func TestLC3_LC4_DatagramLostNilOnCloseAndAbort(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		for _, end := range []string{"Close", "Abort"} {
			for _, early := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/beforeClaim=%v", end, early), func(t *testing.T) {
					p := newDgPair(t, network, false)
					stop := func() {
						for i := range 2 {
							if end == "Abort" {
								p.tr.Abort()
							} else if err := p.tr.Close(); err != nil {
								t.Fatalf("Close #%d: %v", i+1, err)
							}
						}
						p.tr.Abort()
						if !p.tr.IsClosing() {
							t.Fatalf("IsClosing false after %s", end)
						}
					}
					if early {
						stop()
					}
					ch := claimDg(t, p.tr)
					if !early {
						if p.tr.IsClosing() {
							t.Fatalf("IsClosing true on a fresh endpoint")
						}
						p.peerSend(t, seqDatagram(0, 10))
						expectSeq(t, ch, 0, 1, nil)
						stop()
					}
					if lost := dgExpectLost(t, ch); lost.Err != nil {
						t.Fatalf("Lost(%v) after %s, want Lost(nil)", lost.Err, end)
					}
				})
			}
		}
	})
}

// TestLC4_DatagramEveryMethodSafeAfterLost calls every method after Lost:
// none panics, writes and Drain report net.ErrClosed, and the values make
// sense (X2: the extra info survives).
func TestLC4_DatagramEveryMethodSafeAfterLost(t *testing.T) {
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		p := newDgPair(t, network, connected)
		ch := claimDg(t, p.tr)
		p.tr.Abort()
		dgExpectLost(t, ch)
		tr := p.tr
		if err := tr.SendTo([]byte("x"), p.peer.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("SendTo after Lost = %v, want net.ErrClosed", err)
		}
		if err := tr.SendTo(nil, nil); err == nil {
			t.Errorf("SendTo(nil, nil) after Lost = nil, want an error")
		}
		tr.PauseReading()
		tr.ResumeReading()
		if tr.IsReading() || !tr.IsClosing() {
			t.Errorf("after Lost IsReading %v, IsClosing %v; want false, true", tr.IsReading(), tr.IsClosing())
		}
		if n := tr.WriteBufferSize(); n != 0 {
			t.Errorf("WriteBufferSize after Abort = %d, want 0", n)
		}
		tr.WriteBufferLimits()
		if err := tr.SetWriteBufferLimits(-1, 0); err == nil {
			t.Errorf("SetWriteBufferLimits(-1, 0) after Lost = nil, want an error")
		}
		tr.SetWriteBufferLimits(0, 0)
		if err := tr.Drain(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Drain after Lost = %v, want net.ErrClosed", err)
		}
		if !gateOpen(tr.Writable()) {
			t.Errorf("Writable not closed after Lost: nothing is paused")
		}
		if a := sockname(t, tr); a.String() != p.trAddr.String() {
			t.Errorf("sockname after Lost = %v, want %v", a, p.trAddr)
		}
		if err := tr.Close(); err != nil {
			t.Errorf("Close after Lost: %v", err)
		}
		tr.Abort()
		if tr.Events() != ch {
			t.Errorf("Events after Lost returned another channel")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		items := tr.Observable().Observe(rxgo.WithContext(ctx))
		select {
		case it := <-items:
			if !errors.Is(it.E, stream.ErrAlreadySubscribed) {
				t.Errorf("Observable after Events = %+v, want ErrAlreadySubscribed", it)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("no item from an Observable after Events")
		}
		cancel()
		drainObs(t, items)
	})
}

// TestRD1_D5_DatagramsInOrder sends 100 numbered datagrams each way and
// checks they arrive whole, in order, with the right sender.
func TestRD1_D5_DatagramsInOrder(t *testing.T) {
	const n = 100
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		p := newDgPair(t, network, connected)
		ch := claimDg(t, p.tr)
		sent := make(chan error, 1)
		go func() { // unixgram senders block while the queue is full
			p.peer.SetWriteDeadline(time.Now().Add(waitTimeout))
			for i := range n {
				if _, err := p.peer.WriteTo(seqDatagram(i, 100+i), p.trAddr); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		expectSeq(t, ch, 0, n, p.peer.LocalAddr())
		if err := <-sent; err != nil {
			t.Fatalf("peer WriteTo: %v", err)
		}
		for i := range n {
			p.sendTo(t, seqDatagram(i, 100+i))
		}
		for i := range n {
			b, from := peerRecv(t, p.peer)
			checkSeq(t, b, i)
			if from.String() != p.trAddr.String() {
				t.Fatalf("peer got #%d from %v, want %v", i, from, p.trAddr)
			}
		}
	})
}

// TestLC2_DatagramObservable subscribes with rxgo: Made, the datagrams,
// then Lost(nil) after Close, and the Observable completes with no error
// item.
func TestLC2_DatagramObservable(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		items := p.tr.Observable().Observe(rxgo.WithContext(ctx))
		for i := range 3 {
			p.peerSend(t, seqDatagram(i, 20))
		}
		var evs []stream.Event
		timeout := time.After(waitTimeout)
		for done := false; !done; {
			select {
			case it, ok := <-items:
				if !ok {
					done = true
					break
				}
				e, isEvent := it.V.(stream.Event)
				if it.E != nil || !isEvent {
					t.Fatalf("item %+v, want an Event", it)
				}
				evs = append(evs, e)
				if len(evs) == 4 {
					p.tr.Close()
				}
			case <-timeout:
				t.Fatalf("the Observable did not complete; got %v", evs)
			}
		}
		if len(evs) != 5 || evs[0].Kind != stream.Made || evs[4].Kind != stream.Lost || evs[4].Err != nil {
			t.Fatalf("items %v, want Made, 3 Datagrams, Lost(nil)", evs)
		}
		for i, e := range evs[1:4] {
			checkSeq(t, e.Data, i)
		}
	})
}

// TestLC5_DatagramObservableCancelAborts cancels the subscription after a
// datagram: the endpoint is aborted (SendTo refused, descriptor closed),
// the Observable completes and no goroutine is left.
func TestLC5_DatagramObservableCancelAborts(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		p := newDgPair(t, network, false)
		before := goleak.IgnoreCurrent()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		items := p.tr.Observable().Observe(rxgo.WithContext(ctx))
		p.peerSend(t, seqDatagram(0, 20))
		for _, want := range []stream.Kind{stream.Made, stream.Datagram} {
			select {
			case it := <-items:
				if e, _ := it.V.(stream.Event); e.Kind != want {
					t.Fatalf("item %+v, want %v", it, want)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("no %v item", want)
			}
		}
		cancel()
		drainObs(t, items)
		if !p.tr.IsClosing() {
			t.Errorf("IsClosing false after the subscription's context ended")
		}
		if err := p.tr.SendTo([]byte("x"), p.to); !errors.Is(err, net.ErrClosed) {
			t.Errorf("SendTo after cancel = %v, want net.ErrClosed", err)
		}
		if !fdClosed(t, p.tr) {
			t.Errorf("the descriptor is still open after the subscription ended")
		}
		goleak.VerifyNone(t, before)
	})
}
