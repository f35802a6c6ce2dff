package adapters

import (
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Protocol is asyncio's Protocol: the callbacks of a stream transport.
//
// The adapter calls them one at a time, never two at once, in event order,
// on the transport's read goroutine, except PauseWriting and ResumeWriting
// which may run on the goroutine whose Write or flush caused them (see
// Serve). Callbacks must not block for long: while one runs the
// transport reads nothing more. In particular they must not wait in Drain
// or in a Writer from NewWriter: the ResumeWriting they wait for cannot be
// delivered while they run. A panicking callback aborts that transport
// with a *PanicError as ConnectionLost's error.
type Protocol interface {
	// ConnectionMade is called first, exactly once, with the transport.
	ConnectionMade(t transport.Transport)
	// DataReceived is called with the bytes read, never empty. Like
	// io.Writer's Write, it must not retain data after it returns: the
	// adapter reuses the buffer for the next read. Copy what must outlive
	// the call (append(buf, data...) does); Write(data) on a transport is
	// fine, as Write never retains p.
	DataReceived(data []byte)
	// EOFReceived is called when the peer shut down its write side, at most
	// once, after the last DataReceived. Returning false closes the
	// transport (after its writes are flushed); true keeps it half-open,
	// and the protocol closes it later.
	EOFReceived() (keepOpen bool)
	// ConnectionLost is called last, exactly once; err is nil for a clean
	// end (a local Close or Abort, or EOF then close). A panic in it goes
	// to the transport's error handler (transport.WithErrorHandler).
	ConnectionLost(err error)
	// PauseWriting is called when the write buffer goes over its high-water
	// mark. When a Write inside a callback causes it, it is called before
	// that Write returns.
	PauseWriting()
	// ResumeWriting is called when the write buffer comes back to its
	// low-water mark, after a PauseWriting.
	ResumeWriting()
}

// BaseProtocol has empty implementations of every Protocol method: embed
// it and define only the callbacks you need. Its EOFReceived returns false
// (close on EOF), as asyncio's default does.
//
// Embedding has a price, as subclassing asyncio.Protocol has: a callback
// whose name is misspelt (DataRecieved) is just another method, and the
// base's no-op runs instead. Assert the interface next to the type,
//
//	var _ adapters.Protocol = (*echo)(nil)
//
// which makes a callback with the right name and the wrong signature a
// compile error (it hides the base's method). Only a type that does not
// embed the base, and so defines all six callbacks, has its names checked
// by that assertion too; the examples embed it and assert.
type BaseProtocol struct{ BaseBufferedProtocol }

// DataReceived does nothing.
func (BaseProtocol) DataReceived([]byte) {}

var _ Protocol = BaseProtocol{}

// streamCallbacks calls a Protocol's methods for a stream transport.
type streamCallbacks struct {
	t transport.Transport
	p Protocol
}

func (s streamCallbacks) concurrent() bool        { return false }
func (s streamCallbacks) made()                   { s.p.ConnectionMade(s.t) }
func (s streamCallbacks) received(e stream.Event) { s.p.DataReceived(e.Data) }
func (s streamCallbacks) eof() bool               { return s.p.EOFReceived() }
func (s streamCallbacks) lost(err error)          { s.p.ConnectionLost(err) }
func (s streamCallbacks) pauseWriting()           { s.p.PauseWriting() }
func (s streamCallbacks) resumeWriting()          { s.p.ResumeWriting() }
