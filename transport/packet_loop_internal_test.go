//go:build linux

package transport

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/rxnet/rxnet/stream"
)

// pausingHandler is the adapter's part as a loop sees it: TryEvent
// refuses a Datagram while reading is paused, and, once refuse is set,
// makes the pause itself just before a delivery, as a PauseReading made
// on another goroutine while the loop received would.
type pausingHandler struct {
	quietHandler
	c       *packetConn
	refuse  atomic.Bool
	refused chan struct{}
	events  chan stream.Event
}

func (h *pausingHandler) Event(e stream.Event) { h.events <- e }

func (h *pausingHandler) TryEvent(e stream.Event) bool {
	if e.Kind == stream.Datagram {
		if h.c.ReadPaused(0) {
			return false
		}
		if h.refuse.CompareAndSwap(true, false) {
			h.c.PauseReading()
			close(h.refused)
			return false
		}
	}
	e.Data = bytes.Clone(e.Data) // the loop's buffer is lent for the call
	h.events <- e
	return true
}

// TestRD3_LoopHoldsDatagramThatMetPause: on the poll engine a datagram
// that met a pause between the loop's check and its delivery is held by
// the endpoint and delivered first once reading resumes, before those
// that came after it; the endpoint stays on its loop.
func TestRD3_LoopHoldsDatagramThatMetPause(t *testing.T) {
	ep, err := ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := ep.(*packetConn)
	if !c.polled {
		ep.Close()
		t.Skip("the poll engine does not run here")
	}
	h := &pausingHandler{c: c, refused: make(chan struct{}), events: make(chan stream.Event, 8)}
	if !c.Attach(h) {
		t.Fatal("Attach refused")
	}
	if e := <-h.events; e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e.Kind)
	}
	client, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	h.refuse.Store(true)
	client.WriteTo([]byte("one"), ep.LocalAddr())
	<-h.refused
	client.WriteTo([]byte("two"), ep.LocalAddr())
	select {
	case e := <-h.events:
		t.Fatalf("%v %q delivered while reading was paused", e.Kind, e.Data)
	default:
	}
	ep.ResumeReading()
	for _, want := range []string{"one", "two"} {
		e := <-h.events
		if e.Kind != stream.Datagram || string(e.Data) != want || e.Addr.String() != client.LocalAddr().String() {
			t.Fatalf("got %v %q from %v, want the datagram %q from %v", e.Kind, e.Data, e.Addr, want, client.LocalAddr())
		}
	}
	if LoopID(ep) == 0 {
		t.Error("the endpoint left its loop")
	}
	ep.Close()
	if e := <-h.events; e.Kind != stream.Lost || e.Err != nil {
		t.Fatalf("last event %v (%v), want Lost(nil)", e.Kind, e.Err)
	}
}
