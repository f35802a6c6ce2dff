package transport

import (
	"bytes"

	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/stream"
)

// WithPooledData makes the Data, Datagram and PipeData events of a
// channel or Observable consumer carry buffers from rxnet's pool, which
// the consumer gives back with stream.Event.Release once it is done with
// the bytes, instead of a fresh copy of each read that the garbage
// collector frees. Data must not be used after its Release; an event
// never released costs only the reuse. A read of more than 16 KiB is
// handed over in the buffer it was read into, with no copy at all.
// stream's framers, Payloads and adapters.NewReader release what they
// consume. The Protocol adapter borrows each read whether or not it is
// given. It applies to every constructor that makes a transport that
// reads: all but WritePipe and StartTLS (which keeps the transport's
// setting).
func WithPooledData() Option {
	return scoped("WithPooledData", transports&^kWritePipe, func(c *config) { c.pooled = true })
}

// eventWithRef attaches a pooled buffer's hand-out to an event (see
// bufpool.EventWithRef).
var eventWithRef = bufpool.EventWithRef.(func(stream.Event, bufpool.Ref) stream.Event)

// owned returns e, whose Data is borrowed (a loop's buffer, or one the
// caller reuses), with Data the consumer's: a pooled copy with
// WithPooledData, else a fresh one.
func (c *core) owned(e stream.Event) stream.Event {
	if !c.pooled {
		e.Data = bytes.Clone(e.Data)
		return e
	}
	b, data := bufpool.Copy(e.Data)
	e.Data = data
	return eventWithRef(e, b.Ref())
}

// handed returns e with the n bytes read into buf as Data for a consumer
// that owns it: buf itself with WithPooledData (or a smaller pooled copy
// of a small read), else a fresh copy, buf going back to the pool.
func (c *core) handed(e stream.Event, buf *bufpool.Buf, n int) stream.Event {
	if !c.pooled {
		e.Data = bytes.Clone(buf.Bytes()[:n])
		buf.Put()
		return e
	}
	b, data := buf.Fit(n)
	e.Data = data
	return eventWithRef(e, b.Ref())
}
