//go:build linux

package transport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/transporttest"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestLC4_DatagramCloseFlushesQueue closes an endpoint with datagrams
// queued behind a stalled peer: SendTo is refused at once, Lost waits for
// the flush, and once the peer reads, every queued datagram arrives in
// order, then Lost(nil), then nothing more.
func TestLC4_DatagramCloseFlushesQueue(t *testing.T) {
	s := newStalledDg(t)
	s.fill(t, 200)
	for range 20 {
		s.send(t, 200)
	}
	s.tr.Close()
	if !s.tr.IsClosing() {
		t.Fatalf("IsClosing false after Close")
	}
	if err := s.tr.SendTo([]byte("late"), nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("SendTo while Close flushes = %v, want net.ErrClosed", err)
	}
	for _, e := range transporttest.DrainQueued(s.ch) {
		if e.Kind == stream.Lost {
			t.Fatalf("Lost before the queued datagrams were sent")
		}
	}
	s.peerReadAll(t)
	if lost := dgExpectLost(t, s.ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want nil", lost.Err)
	}
	if b, ok := tryRecv(t, s.peer); ok {
		t.Fatalf("peer got %q after Lost", b)
	}
}

// TestLC4_DatagramAbortDropsQueue aborts an endpoint with datagrams
// queued behind a stalled peer: Lost(nil) comes without the peer reading,
// the size is 0, and the peer gets only what the kernel had taken.
func TestLC4_DatagramAbortDropsQueue(t *testing.T) {
	s := newStalledDg(t)
	s.fill(t, 200)
	kernel := len(s.sent) - 1 // the last one was queued
	for range 20 {
		s.send(t, 200)
	}
	s.tr.Abort()
	if lost := dgExpectLost(t, s.ch); lost.Err != nil {
		t.Fatalf("Lost(%v), want nil", lost.Err)
	}
	if n := s.tr.WriteBufferSize(); n != 0 {
		t.Fatalf("WriteBufferSize %d after Abort, want 0", n)
	}
	s.peerRead(t, kernel)
	if b, ok := tryRecv(t, s.peer); ok {
		t.Fatalf("peer got a %d-byte datagram the Abort should have dropped", len(b))
	}
}

// inQueue reports the size of the first datagram the kernel holds unread
// on rc (0: none).
func inQueue(t testing.TB, rc syscall.RawConn) int {
	t.Helper()
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil || ierr != nil {
		t.Fatalf("SIOCINQ: %v, %v", err, ierr)
	}
	return n
}

// TestRD2_DatagramStalledConsumerBounded claims the events, takes Made
// and stops reading them; a raw sender then sends one datagram at a time
// and watches the endpoint's kernel queue: the endpoint takes at most
// the event buffer plus one datagram, then leaves the rest to the kernel,
// even under a flood of thousands. WithReadLimit alone sets the event
// buffer to max(2, limit/64 KiB).
func TestRD2_DatagramStalledConsumerBounded(t *testing.T) {
	const stallWindow = 300 * time.Millisecond
	forDg(t, func(t *testing.T, network string) {
		for _, tc := range []struct {
			name   string
			opts   []transport.Option
			events int
		}{
			{"Default", nil, transport.DefaultEventBuffer},
			{"EventBuffer8", []transport.Option{transport.WithEventBuffer(8)}, 8},
			{"ReadLimit128KiB", []transport.Option{transport.WithReadLimit(128 << 10)}, 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := newDgPair(t, network, false, tc.opts...)
				ch := claimDg(t, p.tr)
				rc := rawConnOf(t, p.tr)
				taken := 0
				for ; ; taken++ {
					if taken > 1000 {
						t.Fatalf("a stalled consumer's endpoint took %d datagrams from the kernel", taken)
					}
					p.peerSend(t, seqDatagram(taken, 1000))
					deadline := time.Now().Add(stallWindow)
					for inQueue(t, rc) != 0 && time.Now().Before(deadline) {
						runtime.Gosched()
					}
					if inQueue(t, rc) != 0 {
						break // it stopped taking
					}
				}
				if bound := tc.events + 1; taken > bound {
					t.Fatalf("the endpoint took %d datagrams for a stalled consumer, want at most %d (event buffer %d + one read)", taken, bound, tc.events)
				}
				// A flood changes nothing: the kernel keeps or drops it.
				p.peer.SetWriteDeadline(time.Now().Add(stallWindow))
				for i := 1; i <= 5000; i++ {
					if _, err := p.peer.WriteTo(seqDatagram(taken+i, 1000), p.trAddr); err != nil {
						break // unixgram: the kernel's queue is full
					}
				}
				p.peer.SetWriteDeadline(time.Time{})
				p.tr.PauseReading()
				evs := transporttest.DrainQueued(ch)
				if len(evs) > tc.events+1 {
					t.Fatalf("%d events queued for a stalled consumer, want at most %d", len(evs), tc.events+1)
				}
				for i, e := range evs {
					if e.Kind != stream.Datagram {
						t.Fatalf("unexpected %v", e)
					}
					checkSeq(t, e.Data, i)
				}
				p.tr.Close()
				// RD3: the datagram the producer was sending when the pause
				// came may land after the drain above; Close takes it back
				// unless this receive is first (a prefix of the stream).
				e := transporttest.NextNonFlow(t, ch)
				if e.Kind == stream.Datagram {
					checkSeq(t, e.Data, len(evs))
					e = transporttest.NextNonFlow(t, ch)
				}
				dgWasLost(t, ch, e)
			})
		}
	})
}

// TestCC1_DatagramConcurrentSendTo sends from 8 goroutines at once while
// others change limits, pause and resume reading and read the state
// (run with -race): every datagram reaches the peer exactly once, whole,
// each goroutine's in its order, and the queue ends at 0.
func TestCC1_DatagramConcurrentSendTo(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		senders, each := 8, 200
		if network == "udp" {
			senders, each = 4, 40 // UDP drops what the peer's buffer cannot hold
		}
		p := newDgPair(t, network, true, transport.WithWriteBufferLimits(4<<10, def))
		if network == "udp" {
			p.peer.(*net.UDPConn).SetReadBuffer(1 << 20)
		}
		ch := p.tr.Events()
		events := make(chan int, 1)
		go func() { // the consumer: counts flow events until Lost
			n := 0
			for range ch {
				n++
			}
			events <- n
		}()
		got := make(chan error, 1)
		go func() { // the peer: reads until it has them all
			next := make([]int, senders)
			buf := make([]byte, 1024)
			p.peer.SetReadDeadline(time.Now().Add(waitTimeout))
			for range senders * each {
				n, _, err := p.peer.ReadFrom(buf)
				if err != nil {
					got <- fmt.Errorf("peer ReadFrom: %w", err)
					return
				}
				w, seq := int(buf[0]), int(binary.BigEndian.Uint32(buf[1:5]))
				if n != 300 || w >= senders || seq != next[w] {
					got <- fmt.Errorf("peer got sender %d #%d (%d bytes), want #%d", w, seq, n, next[min(w, senders-1)])
					return
				}
				next[w]++
			}
			got <- nil
		}()
		stop := make(chan struct{})
		var wg, others sync.WaitGroup
		for w := range senders {
			wg.Go(func() {
				for i := range each {
					b := make([]byte, 300)
					b[0] = byte(w)
					binary.BigEndian.PutUint32(b[1:5], uint32(i))
					to := p.to
					if i%2 == 1 {
						to = p.peer.LocalAddr() // the peer's own address works too
					}
					if err := p.tr.SendTo(b, to); err != nil {
						t.Errorf("sender %d: SendTo #%d: %v", w, i, err)
						return
					}
				}
			})
		}
		others.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p.tr.SetWriteBufferLimits(1+i%8<<10, def)
				p.tr.PauseReading()
				p.tr.ResumeReading()
				_, _ = p.tr.WriteBufferSize(), p.tr.IsReading()
				p.tr.WriteBufferLimits()
				p.tr.ExtraInfo(transport.InfoPeername)
				gateOpen(p.tr.Writable())
			}
		})
		wg.Wait()
		close(stop)
		others.Wait()
		if err := waitErr(t, got); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the queue to empty", func() bool { return p.tr.WriteBufferSize() == 0 })
		p.tr.Close()
		select {
		case <-events:
		case <-time.After(waitTimeout):
			t.Fatalf("no Lost after Close")
		}
	})
}

// TestCC1_DatagramConcurrentCloseAbort races SendTo, Close, Abort,
// PauseReading and SetWriteBufferLimits from several goroutines, 50 times
// per network (run with -race): no panic, and a single Lost ends the
// events.
func TestCC1_DatagramConcurrentCloseAbort(t *testing.T) {
	forDg(t, func(t *testing.T, network string) {
		for range 50 {
			p := newDgPair(t, network, true)
			ch := claimDg(t, p.tr)
			var wg sync.WaitGroup
			for i := range 5 {
				wg.Go(func() {
					for range 20 {
						p.tr.SendTo(make([]byte, 100), nil)
					}
					switch i {
					case 0:
						p.tr.Close()
					case 1:
						p.tr.Abort()
					case 2:
						p.tr.PauseReading()
					case 3:
						p.tr.SetWriteBufferLimits(0, 0)
					}
				})
			}
			wg.Wait()
			dgExpectLost(t, ch) // Abort ended it, whatever the peer does
			p.peer.Close()
		}
	})
}

// TestX4_DatagramSocketOptions reads back, through ExtraInfo("socket"),
// the options ListenPacket and DialPacket set (SO_RCVBUF and SO_SNDBUF,
// which Linux doubles, SO_BROADCAST, SO_REUSEADDR), and checks that
// WithReusePort lets two endpoints share a UDP port and its absence
// does not.
func TestX4_DatagramSocketOptions(t *testing.T) {
	opts := []transport.Option{transport.WithReceiveBuffer(40 << 10), transport.WithSendBuffer(50 << 10), transport.WithReuseAddr()}
	forDgModes(t, func(t *testing.T, network string, connected bool) {
		o := opts
		if network == "udp" {
			o = append(o, transport.WithBroadcast())
		}
		p := newDgPair(t, network, connected, o...)
		get := func(opt int) int {
			var v int
			var gerr error
			if err := rawConnOf(t, p.tr).Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, opt) }); err != nil || gerr != nil {
				t.Fatalf("getsockopt: %v, %v", err, gerr)
			}
			return v
		}
		if got := get(unix.SO_RCVBUF); got != 80<<10 {
			t.Errorf("SO_RCVBUF %d, want %d (WithReceiveBuffer(40 KiB), doubled)", got, 80<<10)
		}
		if got := get(unix.SO_SNDBUF); got != 100<<10 {
			t.Errorf("SO_SNDBUF %d, want %d (WithSendBuffer(50 KiB), doubled)", got, 100<<10)
		}
		if get(unix.SO_REUSEADDR) == 0 {
			t.Errorf("SO_REUSEADDR not set")
		}
		if network == "udp" && get(unix.SO_BROADCAST) == 0 {
			t.Errorf("SO_BROADCAST not set")
		}
	})
	first := listenDg(t, "udp", transport.WithReusePort())
	addr := sockname(t, first).String()
	second, err := transport.ListenPacket(context.Background(), "udp", addr, transport.WithReusePort())
	if err != nil {
		t.Fatalf("a second ListenPacket on %s with WithReusePort: %v", addr, err)
	}
	second.Abort()
	if third, err := transport.ListenPacket(context.Background(), "udp", addr); err == nil {
		third.Abort()
		t.Fatalf("a ListenPacket on %s without WithReusePort succeeded", addr)
	}
}
