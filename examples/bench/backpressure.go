package main

// How the echo servers honour write flow control, so that a peer that
// sends without reading cannot grow a server's memory (DESIGN.md, WR4):
// a Protocol pauses reading in PauseWriting and resumes in ResumeWriting
// (echoProtocol); a channel or rx consumer waits in drain after a write
// that paused writing, taking no more events meanwhile, so that its
// channel fills and the transport stops reading (echoEvents, serveRx, the
// lines modes). Either way a server holds at most the high-water mark
// plus one read (or one line) in a connection's write buffer.

import (
	"context"
	"sync/atomic"

	"github.com/rxnet/rxnet/transport"
)

// heldBackHook, when set, hears of every time an echo server stops
// reading a connection because its writes are paused; tests set it.
var heldBackHook atomic.Pointer[func(transport.Transport)]

// heldBack reports to heldBackHook, if set, that the server stops reading
// t until its writes resume.
func heldBack(t transport.Transport) {
	if f := heldBackHook.Load(); f != nil {
		(*f)(t)
	}
}

// drain returns at once while t is writable; otherwise it reports
// heldBack and waits in t.Drain until t's write buffer is back at its
// low-water mark, t is closed, or ctx ends. Its caller reads nothing
// meanwhile. Drain's error is not returned: a closed transport's comes
// with the Lost its caller still reads.
func drain(ctx context.Context, t transport.Transport) {
	select {
	case <-t.Writable():
		return
	default:
	}
	heldBack(t)
	_ = t.Drain(ctx)
}
