//go:build linux

package transport_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// A datagram endpoint's channel consumer on a poller loop: the loop puts
// each datagram in the consumer's slot while it is free; one that finds
// it full goes to a pump (conn_pump.go). These tests make the consumer
// lag on purpose: unixgram, whose sends are in the receiver's queue when
// they return.

// pumpedPair returns an unconnected unixgram endpoint whose channel
// consumer took Made and lags: datagram #0 (10 bytes) is in its slot and
// a pump holds #1 (20 bytes).
func pumpedPair(t *testing.T, opts ...transport.Option) (dgPair, <-chan stream.Event) {
	t.Helper()
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	p := newDgPair(t, "unixgram", false, opts...)
	ch := claimDg(t, p.tr)
	if transport.LoopID(p.tr) == 0 {
		t.Fatal("the endpoint is not on a loop")
	}
	p.peerSend(t, seqDatagram(0, 10))
	p.peerSend(t, seqDatagram(1, 20))
	waitUntil(t, "a pump holding datagram #1", func() bool { return transport.Pumping(p.tr) })
	return p, ch
}

// TestRD2_DatagramSlowConsumerStopsTheLoop: while a lagging consumer's
// slot is full, the loop receives nothing more: it holds the one datagram
// its pump has, the rest stays in the kernel, and each datagram is
// delivered once the consumer takes the one before it, in order.
func TestRD2_DatagramSlowConsumerStopsTheLoop(t *testing.T) {
	p, ch := pumpedPair(t)
	p.peerSend(t, seqDatagram(2, 40))
	p.peerSend(t, seqDatagram(3, 80))
	if n := p.tr.Stats().BytesRead; n != 30 {
		t.Errorf("BytesRead %d while the consumer lags, want 30 (#0 in the slot, #1 in the pump)", n)
	}
	if n := pendingDatagram(t, p.tr); n != 40 {
		t.Errorf("the kernel holds a next datagram of %d bytes, want #2's 40", n)
	}
	expectSeq(t, ch, 0, 4, p.peer.LocalAddr())
	waitUntil(t, "the pumps ended", func() bool { return !transport.Pumping(p.tr) })
	if n := p.tr.Stats().BytesRead; n != 150 {
		t.Errorf("BytesRead %d, want 150", n)
	}
}

// pendingDatagram returns the size of the next datagram in the
// endpoint's receive queue, 0 when none.
func pendingDatagram(t *testing.T, tr transport.DatagramTransport) int {
	t.Helper()
	var n int
	var err error
	if cerr := rawConnOf(t, tr).Control(func(fd uintptr) {
		n, err = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	}); cerr != nil || err != nil {
		t.Fatalf("SIOCINQ: %v, %v", cerr, err)
	}
	return n
}

// TestLC3_DatagramCloseWhilePumpingDropsHeld: a local Close while a pump
// holds a datagram drops it: the consumer, receiving on, gets at most the
// one in the slot (a prefix of the stream, as Queue.Finish says), then
// Lost(nil), once the pump is gone.
func TestLC3_DatagramCloseWhilePumpingDropsHeld(t *testing.T) {
	p, ch := pumpedPair(t, transport.WithPooledData())
	p.tr.Close()
	e, ok := dgNext(t, ch)
	if ok && e.Kind == stream.Datagram {
		checkSeq(t, e.Data, 0)
		e.Release()
		e, ok = dgNext(t, ch)
	}
	if !ok || e.Kind != stream.Lost || e.Err != nil {
		t.Fatalf("got %v (open %v) after Close, want at most #0, then Lost(nil)", e, ok)
	}
	if e, ok := dgNext(t, ch); ok {
		t.Fatalf("got %v after Lost, want the channel closed", e)
	}
}

// TestLC3_DatagramFailureWhilePumpingDeliversHeld: when the endpoint
// fails while a pump holds a datagram, the consumer gets it, then Lost
// with the error: Lost waits for the pump.
func TestLC3_DatagramFailureWhilePumpingDeliversHeld(t *testing.T) {
	p, ch := pumpedPair(t)
	boom := errors.New("boom")
	transport.FailRead(p.tr, boom)
	expectSeq(t, ch, 0, 2, p.peer.LocalAddr())
	if e := dgExpectLost(t, ch); !errors.Is(e.Err, boom) {
		t.Fatalf("Lost(%v), want the failure", e.Err)
	}
}

// TestD6_SendErrorsWaitForThePump: send errors left while a pump holds a
// datagram do not block the loop (a task posted after them runs while
// the slot is still full), and the consumer gets them after that
// datagram, in the order the sends failed.
func TestD6_SendErrorsWaitForThePump(t *testing.T) {
	p, ch := pumpedPair(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file") // not a socket: ECONNREFUSED
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	nowhere := &net.UnixAddr{Name: filepath.Join(dir, "nowhere"), Net: "unixgram"} // ENOENT
	want := []error{syscall.ENOENT, syscall.ECONNREFUSED, syscall.ENOENT}
	for _, to := range []net.Addr{nowhere, &net.UnixAddr{Name: file, Net: "unixgram"}, nowhere} {
		if err := p.tr.SendTo([]byte("x"), to); err != nil {
			t.Fatalf("SendTo(%v): %v, want nil (errors come as events)", to, err)
		}
	}
	<-transport.LoopRan(p.tr)
	expectSeq(t, ch, 0, 2, p.peer.LocalAddr())
	for i, w := range want {
		if e := dgExpect(t, ch, stream.DatagramError); !errors.Is(e.Err, w) {
			t.Fatalf("send error #%d: %v, want %v", i, e.Err, w)
		}
	}
	p.peerSend(t, seqDatagram(2, 10))
	expectSeq(t, ch, 2, 3, p.peer.LocalAddr())
}
