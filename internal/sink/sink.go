// Package sink is the internal path between a transport and the Protocol
// adapter: instead of its event channel, a transport can deliver events by
// calling a Handler on its read goroutine. Only rxnet's own packages can
// name these types.
package sink

import "github.com/rxnet/rxnet/stream"

// Handler receives a transport's events in place of its channel.
type Handler interface {
	// Event is called on the transport's read goroutine, one event at a
	// time, in order: Made first, Lost last. PauseWriting and
	// ResumeWriting are not delivered here but announced by FlowChanged.
	Event(e stream.Event)
	// TryEvent is Event for a delivery that must not wait: a transport
	// served by a poller loop (internal/poll) calls it on the loop. It
	// reports false, having delivered nothing, when Event would have
	// waited (a Data while reading is paused, or any event while a
	// detached stream takes them): the event stays the caller's, who
	// hands it to Event on a goroutine of its own.
	TryEvent(e stream.Event) bool
	// ReaderMoved tells the handler the id (internal/goid) of the
	// goroutine that delivers the events from now on: a transport that
	// left its loop, or whose loop a new goroutine took over (a Handoff).
	// OnReader then reports that goroutine.
	ReaderMoved(id uint64)
	// FlowChanged is called, from any goroutine and outside every
	// transport lock, after the transport paused or resumed writing.
	FlowChanged()
	// ReadingPaused is called by PauseReading, on the caller's goroutine,
	// after reading was paused.
	ReadingPaused()
	// Wake is called after ResumeReading, Close, Abort or a failure, so
	// that a delivery held back while reading was paused can proceed.
	Wake()
	// OnReader reports whether the calling goroutine is the one Event is
	// called on (StartTLS called from inside a callback runs there).
	OnReader() bool
	// Upgrading is called by StartTLS, on its caller's goroutine, before
	// it asks the read goroutine to run the handshake: an Event call
	// waiting for a consumer (a detached stream's) returns, keeping its
	// data for TakeBack.
	Upgrading()
	// TakeBack is called on the read goroutine as it runs StartTLS's
	// handshake: it returns, in order, the data Event was given that no
	// consumer has taken yet, which is handshake input.
	TakeBack() []byte
	// ReadBuffer is called on the goroutine that reads a stream (its read
	// goroutine or its loop) before each read: it returns the buffer the
	// read goes into, the protocol's own (a BufferedProtocol's GetBuffer),
	// or nil for the transport's. The Data event of a read into it holds
	// the bytes in place. An error has ended the transport already (Fail):
	// the reader stops.
	ReadBuffer() ([]byte, error)
}

// Attacher is implemented by transports that can deliver to a Handler.
type Attacher interface {
	// Attach claims the transport's events for h and starts reading. It
	// reports false when the events already have a consumer.
	Attach(h Handler) bool
	// Handler returns the Handler the transport delivers to, nil for none.
	Handler() Handler
	// Fail aborts the transport with err as Lost's error.
	Fail(err error)
	// ReportError hands an error nobody else would see (a panic in
	// ConnectionLost) to the transport's error handler
	// (transport.WithErrorHandler), or logs it when it has none.
	ReportError(err error)
	// CloseAfterEOF closes the transport because the protocol's
	// EOFReceived said so: like Close, except that a Drain waiting for the
	// flush ends with the flush's outcome.
	CloseAfterEOF()
	// WriteState reports whether writing is paused, and whether the
	// transport is done (aborted, failed or closed: no more PauseWriting
	// or ResumeWriting).
	WriteState() (paused, done bool)
	// ReadPaused reports whether reading is paused (and not closing) on
	// the stream the data of an event with this FD comes from (a
	// subprocess's pipe; other transports have one stream and ignore fd).
	ReadPaused(fd int) bool
	// Released returns a channel closed once the transport's consumer is
	// released: a local Close or Abort, or Fail. After a failure of its
	// own the transport keeps every event for its consumer; once released
	// it may drop them.
	Released() <-chan struct{}
	// ReadDropped reports whether data of the stream an event with this
	// FD comes from, read but not delivered, is dropped: that stream was
	// closed or aborted locally (no data after close, asyncio L10). After
	// a failure what was read is still delivered, then Lost.
	ReadDropped(fd int) bool
	// ReadBlocked reports, without locking, whether reading that stream is
	// paused or closing: false means deliver at once.
	ReadBlocked(fd int) bool
	// Unloop moves the transport's delivery off its poller loop, if it is
	// on one, to a goroutine of its own for the rest of its life, because
	// the handler is about to deliver where a loop must not wait (a
	// detached stream). It does nothing on a transport read by its own
	// goroutine already.
	Unloop()
}
