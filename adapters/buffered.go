package adapters

import (
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// StreamProtocol is what Protocol and BufferedProtocol share: the
// callbacks of a stream transport other than those that take its data.
// Serve, Connect, Adapt, ConnectReadPipe, ConnectWritePipe and
// Detached.Attach take one and drive it as a BufferedProtocol when it
// has GetBuffer and BufferUpdated, else as a Protocol (DataReceived); a
// value with neither is refused with ErrNoDataCallback. The callbacks'
// rules are Protocol's.
type StreamProtocol interface {
	ConnectionMade(t transport.Transport)
	EOFReceived() (keepOpen bool)
	ConnectionLost(err error)
	PauseWriting()
	ResumeWriting()
}

// BufferedProtocol is asyncio's BufferedProtocol: a stream protocol that
// provides the buffers the transport reads into, so that the bytes read
// are not copied again (asyncio's order: ConnectionMade, then GetBuffer
// and BufferUpdated pairs, EOFReceived, ConnectionLost).
//
// Before each read the adapter calls GetBuffer(-1) and the transport
// reads straight into the buffer returned; BufferUpdated(n) then says
// that n bytes (1 <= n <= len(buf)) are at the buffer's start. A read
// that finds EOF, or nothing, is not followed by BufferUpdated (asyncio
// B2). Bytes that reach the protocol some other way (a TLS transport's
// decrypted records, the rest handed over by Detach, a read held back by
// PauseReading) are copied in: GetBuffer is called with the number of
// bytes still to deliver as its hint, as often as it takes. The hint is
// advisory: -1 means any size, and 0 may come too (asyncio B4). The
// buffer is the protocol's again once BufferUpdated returns, or, for a
// read that found nothing, at the next GetBuffer or ConnectionLost.
//
// An empty buffer ends the transport with ErrEmptyBuffer as
// ConnectionLost's error; a panic in GetBuffer or BufferUpdated ends it
// with a *PanicError, as in any callback (asyncio B3). The callbacks run
// as Protocol's do: one at a time, never two at once, on the goroutine
// that reads the transport (a poller loop, or its read goroutine); they
// must not block for long.
type BufferedProtocol interface {
	// ConnectionMade is called first, exactly once, with the transport.
	ConnectionMade(t transport.Transport)
	// GetBuffer returns the buffer the next bytes go into, not empty;
	// sizeHint is advisory (-1: any size).
	GetBuffer(sizeHint int) []byte
	// BufferUpdated says that n bytes were written at the start of the
	// buffer the last GetBuffer returned.
	BufferUpdated(n int)
	// EOFReceived is Protocol's: false closes the transport.
	EOFReceived() (keepOpen bool)
	// ConnectionLost is called last, exactly once (Protocol's).
	ConnectionLost(err error)
	// PauseWriting is Protocol's.
	PauseWriting()
	// ResumeWriting is Protocol's.
	ResumeWriting()
}

// BaseBufferedProtocol has empty implementations of every callback but
// GetBuffer and BufferUpdated, which a BufferedProtocol must define: embed
// it, define those two and the others you need, and assert the interface
// next to the type (var _ adapters.BufferedProtocol = (*p)(nil)). Its
// EOFReceived returns false (close on EOF). BaseProtocol embeds it.
type BaseBufferedProtocol struct{}

// ConnectionMade does nothing.
func (BaseBufferedProtocol) ConnectionMade(transport.Transport) {}

// EOFReceived returns false: the transport closes.
func (BaseBufferedProtocol) EOFReceived() bool { return false }

// ConnectionLost does nothing.
func (BaseBufferedProtocol) ConnectionLost(error) {}

// PauseWriting does nothing.
func (BaseBufferedProtocol) PauseWriting() {}

// ResumeWriting does nothing.
func (BaseBufferedProtocol) ResumeWriting() {}

var _ StreamProtocol = BaseBufferedProtocol{}

// streamCallbacksFor returns the callbacks that drive p for t: a
// BufferedProtocol's when p has GetBuffer and BufferUpdated, else a
// Protocol's.
func streamCallbacksFor(t transport.Transport, p StreamProtocol) (callbacks, error) {
	switch p := p.(type) {
	case BufferedProtocol:
		return &bufferedCallbacks{t: t, p: p}, nil
	case Protocol:
		return streamCallbacks{t, p}, nil
	}
	return nil, ErrNoDataCallback
}

// bufferedCallbacks calls a BufferedProtocol's methods. lent is the
// buffer of the last GetBuffer made for a read (readBuffer), whose Data
// event then holds the bytes in place. Its fields are guarded by the
// runner's mu, as every callback is.
type bufferedCallbacks struct {
	t    transport.Transport
	p    BufferedProtocol
	lent []byte
	// cut is set by a Detach: a chunk being fed in copies stops after the
	// BufferUpdated that detached, and left keeps the bytes not fed, which
	// the runner hands to the stream next (they follow Detach's rest).
	cut  bool
	left []byte
}

func (b *bufferedCallbacks) concurrent() bool { return false }
func (b *bufferedCallbacks) made()            { b.p.ConnectionMade(b.t) }
func (b *bufferedCallbacks) eof() bool        { return b.p.EOFReceived() }
func (b *bufferedCallbacks) lost(err error)   { b.p.ConnectionLost(err) }
func (b *bufferedCallbacks) pauseWriting()    { b.p.PauseWriting() }
func (b *bufferedCallbacks) resumeWriting()   { b.p.ResumeWriting() }

// readBuffer is GetBuffer(-1) for a read the transport makes into the
// protocol's buffer. An empty buffer panics with fatal{ErrEmptyBuffer}.
func (b *bufferedCallbacks) readBuffer() []byte {
	buf := b.getBuffer(-1)
	b.lent = buf
	return buf
}

// received calls BufferUpdated for bytes read in place, into the buffer
// of the last readBuffer; any other bytes are copied into buffers from
// GetBuffer, hinted with what is left (asyncio's feeding of a chunk).
func (b *bufferedCallbacks) received(e stream.Event) {
	data, lent := e.Data, b.lent
	b.lent = nil
	if len(data) > 0 && len(lent) > 0 && &data[0] == &lent[0] {
		b.p.BufferUpdated(len(data))
		return
	}
	for len(data) > 0 {
		n := copy(b.getBuffer(len(data)), data)
		b.p.BufferUpdated(n)
		data = data[n:]
		if b.cut && len(data) > 0 {
			b.left = data
			return
		}
	}
}

// getBuffer calls GetBuffer, refusing an empty buffer.
func (b *bufferedCallbacks) getBuffer(hint int) []byte {
	buf := b.p.GetBuffer(hint)
	if len(buf) == 0 {
		panic(fatal{ErrEmptyBuffer})
	}
	return buf
}

// fatal is a panic value the adapter raises itself, inside a callback's
// guard: it ends the transport with err, not with a *PanicError.
type fatal struct{ err error }

// isStream reports whether cb drives a stream protocol, Protocol or
// BufferedProtocol (what Detach hands over).
func isStream(cb callbacks) bool {
	switch cb.(type) {
	case streamCallbacks, *bufferedCallbacks:
		return true
	}
	return false
}
