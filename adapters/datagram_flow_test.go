//go:build linux

package adapters_test

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// TestCC2_DatagramPauseWritingBeforeSendToReturns sends from inside a
// callback (ConnectionMade, DatagramReceived) to a unixgram peer that does
// not read: PauseWriting is called before the SendTo that went over high
// returns. Once the peer reads, ResumeWriting follows.
func TestCC2_DatagramPauseWritingBeforeSendToReturns(t *testing.T) {
	for _, where := range []string{"ConnectionMade", "DatagramReceived"} {
		t.Run(where, func(t *testing.T) {
			peer := dgRawPeer(t, "unixgram")
			r := newDgRecorder()
			sent := 0
			fill := func(tr transport.DatagramTransport) {
				for i := 0; i < 10000; i++ {
					if err := tr.SendTo(bytes.Repeat([]byte{'x'}, 1000), nil); err != nil {
						t.Errorf("SendTo: %v", err)
						return
					}
					sent++
					paused := !dgWritable(tr)
					r.mark(fmt.Sprint(paused))
					if paused {
						return
					}
				}
				t.Errorf("10000 datagrams to a peer that does not read and no pause")
			}
			if where == "ConnectionMade" {
				r.onMade = fill
			} else {
				r.onRecv = func([]byte, net.Addr) {
					if sent == 0 {
						fill(r.t)
					}
				}
			}
			tr := connectDg(t, "unixgram", peer.LocalAddr().String(), r, transport.WithWriteBufferLimits(4<<10, 0))
			if where == "DatagramReceived" {
				peerWrite(t, peer, []byte("go"), sockAddr(t, tr))
			}
			trace := r.waitFor(t, "the last SendTo's mark", func(tr []dgEntry) bool {
				return len(tr) > 0 && tr[len(tr)-1].kind == dgMark && tr[len(tr)-1].note == "true"
			})
			pw := -1
			for i, e := range trace {
				if e.kind == dgPause {
					pw = i
				}
			}
			if last := len(trace) - 1; pw != last-1 || trace[last-2].kind != dgMark {
				t.Fatalf("PauseWriting at %d, want just before the mark of the SendTo that paused (%d): %v", pw, last, trace[max(0, len(trace)-5):])
			}
			for range sent {
				peerRead(t, peer)
			}
			r.waitCount(t, dgResume, 1)
			tr.Close()
			if err := checkDgTrace(r.waitCount(t, dgLost, 1)); err != nil {
				t.Fatal(err)
			}
			if r.overlaps.Load() != 0 {
				t.Errorf("%d callbacks overlapped", r.overlaps.Load())
			}
		})
	}
}

// TestRD3_DatagramProtocolPauseReading checks that PauseReading holds
// back DatagramReceived until ResumeReading: called inside
// ConnectionMade, inside DatagramReceived (datagrams already read wait
// too), and from another goroutine; the held datagrams then come in
// order.
func TestRD3_DatagramProtocolPauseReading(t *testing.T) {
	forDgNet(t, func(t *testing.T, network string) {
		for _, where := range []string{"ConnectionMade", "DatagramReceived", "OtherGoroutine"} {
			t.Run(where, func(t *testing.T) {
				r := newDgRecorder()
				switch where {
				case "ConnectionMade":
					r.onMade = func(tr transport.DatagramTransport) { tr.PauseReading() }
				case "DatagramReceived":
					r.onRecv = func(data []byte, _ net.Addr) {
						if string(data) == "0" {
							r.t.PauseReading()
						}
					}
				}
				tr := serveDg(t, network, r)
				peer := dgRawPeer(t, network)
				want := []string{"0", "1", "2", "3", "4"}
				allowed := 0 // DatagramReceived calls before the pause takes hold
				switch where {
				case "DatagramReceived":
					allowed = 1 // "0" itself
				case "OtherGoroutine":
					peerWrite(t, peer, []byte("-"), sockAddr(t, tr))
					r.waitCount(t, dgRecv, 1)
					tr.PauseReading()
					allowed = 1
				}
				for _, s := range want {
					peerWrite(t, peer, []byte(s), sockAddr(t, tr))
				}
				r.waitCount(t, dgRecv, allowed)
				r.quiet(t, dgRecv, allowed)
				if tr.IsReading() {
					t.Fatalf("IsReading true while paused")
				}
				tr.ResumeReading()
				if where == "OtherGoroutine" {
					want = append([]string{"-"}, want...)
				}
				var got []string
				for _, e := range r.waitCount(t, dgRecv, len(want)) {
					if e.kind == dgRecv {
						got = append(got, string(e.data))
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("DatagramReceived %v, want %v", got, want)
				}
			})
		}
	})
}

// TestRD3_DatagramPauseReadingHoldsDatagramAlreadyRead: a datagram the
// endpoint read just before PauseReading (its delivery waiting for a
// PauseWriting callback running on another goroutine) is held: no
// DatagramReceived after PauseReading returned; ResumeReading delivers
// it.
func TestRD3_DatagramPauseReadingHoldsDatagramAlreadyRead(t *testing.T) {
	peer := dgRawPeer(t, "unixgram")
	r := newDgRecorder()
	inPause, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.onPause = func() { once.Do(func() { close(inPause); <-release }) }
	tr := connectDg(t, "unixgram", peer.LocalAddr().String(), r, transport.WithWriteBufferLimits(4<<10, 0))
	filled := make(chan struct{})
	go func() { // its SendTo runs PauseWriting, which blocks until release
		defer close(filled)
		for dgWritable(tr) && !tr.IsClosing() {
			tr.SendTo(bytes.Repeat([]byte{'x'}, 1000), nil)
		}
	}()
	waitClosed(t, inPause, "PauseWriting")
	peerWrite(t, peer, []byte("held"), sockAddr(t, tr))
	rc := socketOf(t, tr)
	waitQueued(t, rc, 0) // the endpoint read it; its delivery waits for PauseWriting
	paused := make(chan struct{})
	go func() {
		tr.PauseReading()
		close(paused)
	}()
	for deadline := time.Now().Add(failAfter); tr.IsReading(); yield() {
		if time.Now().After(deadline) {
			t.Fatal("PauseReading never took effect")
		}
	}
	close(release)
	waitClosed(t, paused, "PauseReading to return")
	waitClosed(t, filled, "the filling SendTo")
	r.quiet(t, dgRecv, 0)
	r.mark("resume")
	tr.ResumeReading()
	trace := r.waitCount(t, dgRecv, 1)
	for i, e := range trace {
		if e.kind == dgRecv && (string(e.data) != "held" || trace[i-1].note != "resume") {
			t.Fatalf("DatagramReceived(%q) at %d, want held right after ResumeReading: %v", e.data, i, trace)
		}
	}
}
