package transport_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/transport"
)

// blocker echoes, except that a DataReceived of "block" blocks until
// release is closed, holding its loop.
type blocker struct {
	adapters.BaseProtocol
	t       transport.Transport
	made    chan<- transport.Transport
	blocked chan<- struct{}
	release <-chan struct{}
}

var _ adapters.Protocol = (*blocker)(nil)

func (p *blocker) ConnectionMade(t transport.Transport) { p.t = t; p.made <- t }

func (p *blocker) DataReceived(data []byte) {
	if string(data) == "block" {
		close(p.blocked)
		<-p.release
		return
	}
	p.t.Write(data)
}

// TestEN1_BlockedCallbackDelaysOnlyItsLoop: on the poll engine a callback
// that blocks stalls its own loop, as in asyncio, and no other: with two
// loops, while one connection's DataReceived is blocked, the connections
// on the other loop go on echoing, and those on the blocked loop get
// their echo only once the callback returns.
func TestEN1_BlockedCallbackDelaysOnlyItsLoop(t *testing.T) {
	if !poll.Supported() || os.Getenv("RXNET_ENGINE") == "goroutine" {
		t.Skip("the poll engine does not run here")
	}
	defer transport.SetLoops(transport.SetLoops(2))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	made := make(chan transport.Transport, 8)
	blocked, release := make(chan struct{}), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	served := make(chan error, 1)
	go func() {
		served <- adapters.Serve(ctx, srv, func() *blocker {
			return &blocker{made: made, blocked: blocked, release: release}
		})
	}()
	dial := func() (net.Conn, transport.Transport) {
		nc, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc, <-made
	}
	stuck, stuckT := dial()
	others := make([]net.Conn, 4)
	loops := make([]uint64, 4)
	for i := range others {
		var tr transport.Transport
		others[i], tr = dial()
		loops[i] = transport.LoopID(tr)
	}
	blockedLoop := transport.LoopID(stuckT)
	if blockedLoop == 0 {
		t.Fatal("the Protocol's transport is not on a loop")
	}
	stuck.Write([]byte("block"))
	<-blocked

	// Echoes on the free loop complete; those on the blocked one wait.
	waiting := make(map[int]chan []byte)
	free := 0
	for i, nc := range others {
		msg := []byte{'a' + byte(i)}
		nc.Write(msg)
		if loops[i] == blockedLoop {
			got := make(chan []byte, 1)
			go func() {
				b := make([]byte, 1)
				n, _ := nc.Read(b)
				got <- b[:n]
			}()
			waiting[i] = got
			continue
		}
		free++
		b := make([]byte, 1)
		if _, err := nc.Read(b); err != nil || !bytes.Equal(b, msg) {
			t.Fatalf("echo on the free loop: %q, %v", b, err)
		}
	}
	if free == 0 || len(waiting) == 0 {
		t.Fatalf("placement: %d connections on the free loop, %d on the blocked one", free, len(waiting))
	}
	for i, got := range waiting {
		select {
		case b := <-got:
			t.Fatalf("connection %d echoed %q while its loop was blocked", i, b)
		default:
		}
	}
	close(release)
	released = true
	for i, got := range waiting {
		if b := <-got; !bytes.Equal(b, []byte{'a' + byte(i)}) {
			t.Fatalf("connection %d echoed %q after the release", i, b)
		}
	}
	srv.Close()
	<-served
}
