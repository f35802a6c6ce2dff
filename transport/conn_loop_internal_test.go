//go:build linux

package transport

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/stream"
)

// leavingHandler is a detached stream's side as a loop sees it: TryEvent
// refuses Data (its producer may wait), so the loop holds the chunk and
// the transport leaves its loop; Event records what the read goroutine
// delivers, and holds the first Data until release is closed.
type leavingHandler struct {
	quietHandler
	events  chan stream.Event
	entered chan struct{} // closed when the first Data reaches Event
	release chan struct{}
	first   bool
}

func (h *leavingHandler) Event(e stream.Event) {
	e.Data = bytes.Clone(e.Data) // lent for the call
	h.events <- e
	if e.Kind == stream.Data && !h.first {
		h.first = true
		close(h.entered)
		<-h.release
	}
}

func (h *leavingHandler) TryEvent(e stream.Event) bool {
	if e.Kind == stream.Data {
		return false
	}
	h.Event(e)
	return true
}

// TestRD1_LoopReadsNothingOnceLeaving: a transport leaving its loop
// (Unloop, from a Detach on another goroutine) may still get an
// OnReadable from the loop until the loop hears of it; that call must
// read nothing, since the chunk the loop holds for the read goroutine
// would be replaced by the next one (found by
// TestCC1_DetachFromAnotherGoroutine under load: a chunk lost). The
// late call is made here by hand while the read goroutine is held in its
// first delivery, with the peer's next bytes waiting in the socket.
func TestRD1_LoopReadsNothingOnceLeaving(t *testing.T) {
	c, peer := loopConnPair(t)
	h := &leavingHandler{events: make(chan stream.Event, 8), entered: make(chan struct{}), release: make(chan struct{})}
	if !c.Attach(h) {
		t.Fatal("Attach refused")
	}
	next := func() stream.Event {
		select {
		case e := <-h.events:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
			return stream.Event{}
		}
	}
	if e := next(); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e.Kind)
	}
	peer.Write([]byte("one")) // held by the loop, then delivered by the read goroutine
	if e := next(); e.Kind != stream.Data || string(e.Data) != "one" {
		t.Fatalf("got %v %q, want Data one", e.Kind, e.Data)
	}
	<-h.entered // the read goroutine is in Event: it reads nothing meanwhile
	peer.Write([]byte("two"))
	fd, err := c.fd.Sysfd()
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the bytes are in the socket (one segment over loopback).
	if n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10_000); n != 1 || err != nil {
		t.Fatalf("poll: %d, %v: the peer's bytes did not arrive", n, err)
	}
	if more := (*loopReader)(c).OnReadable(make([]byte, 64<<10)); more {
		t.Error("a late OnReadable reported more")
	}
	if n, _ := unix.IoctlGetInt(fd, unix.SIOCINQ); n != 3 {
		t.Errorf("a late OnReadable left %d bytes in the socket, want the 3 for the read goroutine", n)
	}
	close(h.release)
	if e := next(); e.Kind != stream.Data || string(e.Data) != "two" {
		t.Fatalf("got %v %q, want Data two", e.Kind, e.Data)
	}
}
