//go:build linux

package transport

import (
	"context"
	"net"
	"testing"
)

// quietHandler is a sink.Handler's methods that the internal tests of the
// loop paths do not watch, for their handlers to embed: they define Event
// and TryEvent, and any of these they watch.
type quietHandler struct{}

func (quietHandler) ReaderMoved(uint64)          {}
func (quietHandler) FlowChanged()                {}
func (quietHandler) ReadingPaused()              {}
func (quietHandler) Wake()                       {}
func (quietHandler) OnReader() bool              { return false }
func (quietHandler) Upgrading()                  {}
func (quietHandler) TakeBack() []byte            { return nil }
func (quietHandler) ReadBuffer() ([]byte, error) { return nil, nil }

// loopConnPair dials a TCP transport, not claimed yet, and returns it
// with its accepted peer, both closed when the test ends; it skips the
// test where the poll engine does not run.
func loopConnPair(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tr, err := Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Abort)
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	c := tr.(*conn)
	if !c.polled {
		t.Skip("the poll engine does not run here")
	}
	return c, peer
}
