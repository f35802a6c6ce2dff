//go:build linux

package transport_test

import (
	"context"
	"net"
	"os"
	"runtime"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// loopEcho echoes each datagram and reports the goroutine that received
// it.
type loopEcho struct {
	adapters.BaseDatagramProtocol
	t    transport.DatagramTransport
	on   chan uint64
	lost chan struct{}
}

func (p *loopEcho) ConnectionMade(t transport.DatagramTransport) { p.t = t }

func (p *loopEcho) DatagramReceived(data []byte, addr net.Addr) {
	p.t.SendTo(data, addr)
	p.on <- goid.Get()
}

func (p *loopEcho) ConnectionLost(error) { close(p.lost) }

// TestEN1_DatagramEndpointOnLoopHoldsNoGoroutine: on the poll engine a
// DatagramProtocol's endpoint is read by a loop, its DatagramReceived
// runs on that loop, and an idle endpoint holds no goroutine of its own
// (no read goroutine, no flush goroutine): the loops are all there is.
func TestEN1_DatagramEndpointOnLoopHoldsNoGoroutine(t *testing.T) {
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	ctx := context.Background()
	listen := func() (transport.DatagramTransport, *loopEcho) {
		ep, p, err := adapters.ListenDatagram(ctx, "udp", "127.0.0.1:0", func() *loopEcho {
			return &loopEcho{on: make(chan uint64, 1), lost: make(chan struct{})}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close(); <-p.lost })
		return ep, p
	}
	client, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	echo := func(ep transport.DatagramTransport, p *loopEcho) uint64 {
		if _, err := client.WriteTo([]byte("ping"), ep.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		on := <-p.on
		b := make([]byte, 8)
		if n, _, err := client.ReadFrom(b); err != nil || string(b[:n]) != "ping" {
			t.Fatalf("echo: %q, %v", b[:n], err)
		}
		return on
	}
	echo(listen()) // the loops run from here on

	others := offLoopGoroutines() // other tests' transports, ending
	before := runtime.NumGoroutine()
	ep, p := listen()
	if on, loop := echo(ep, p), transport.LoopID(ep); loop == 0 || on != loop {
		t.Errorf("DatagramReceived ran on goroutine %d; the endpoint's loop is %d", on, loop)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines with an idle endpoint, %d before it", after, before)
	}
	for id, g := range offLoopGoroutines() {
		if _, ok := others[id]; !ok {
			t.Errorf("a goroutine of the idle endpoint:\n%s", g)
		}
	}
}

// TestEN1_ChannelConsumerOnLoopHoldsNoGoroutine: a TCP transport whose
// events a channel consumes is read by a loop: once its consumer keeps up
// (it waits in its receive), the transport holds no goroutine of its own.
func TestEN1_ChannelConsumerOnLoopHoldsNoGoroutine(t *testing.T) {
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	others := offLoopGoroutines()
	tr, err := transport.Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Abort()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	ch := tr.Events()
	if e := <-ch; e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	if _, err := peer.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if e := <-ch; e.Kind != stream.Data || string(e.Data) != "ping" {
		t.Fatalf("got %v, want Data(ping)", e)
	}
	if transport.LoopID(tr) == 0 {
		t.Fatal("the transport is not on a loop")
	}
	for id, g := range offLoopGoroutines() {
		if _, ok := others[id]; !ok {
			t.Errorf("a goroutine of the idle transport:\n%s", g)
		}
	}
}

// TestEN1_DatagramChannelConsumerOnLoopHoldsNoGoroutine: a datagram
// endpoint whose events a channel consumes is read by a loop: once its
// consumer keeps up (it waits in its receive), the endpoint holds no
// goroutine of its own.
func TestEN1_DatagramChannelConsumerOnLoopHoldsNoGoroutine(t *testing.T) {
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	forDg(t, func(t *testing.T, network string) {
		others := offLoopGoroutines()
		p := newDgPair(t, network, false)
		ch := claimDg(t, p.tr)
		p.peerSend(t, seqDatagram(0, 10))
		expectSeq(t, ch, 0, 1, p.peer.LocalAddr())
		for id, g := range offLoopGoroutines() {
			if _, ok := others[id]; !ok {
				t.Errorf("a goroutine of the idle endpoint:\n%s", g)
			}
		}
		if transport.LoopID(p.tr) == 0 {
			t.Error("the endpoint is not on a loop")
		}
	})
}
