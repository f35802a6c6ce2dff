package adapters

import (
	"context"
	"io"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// Writer is an io.Writer over a write transport that gives io.Copy and
// friends backpressure: each Write hands p to the transport (which never
// blocks) and then waits while the transport is paused, like asyncio's
// write() followed by await drain().
//
// It takes anything that writes and has transport.FlowControl: every
// transport.WriteTransport (sockets, TLS, write pipes, a subprocess's
// Stdin), or a connected DatagramTransport wrapped in a type whose Write
// calls SendTo(p, nil).
//
// A Writer may be used by one goroutine at a time. Do not use it inside a
// Protocol callback: the resume it waits for cannot be delivered there.
type Writer struct {
	t   flowWriter
	ctx context.Context
}

// flowWriter is what a Writer needs of its transport.
type flowWriter interface {
	io.Writer
	transport.FlowControl
}

// NewWriter returns a Writer over t whose waits end only with the
// transport (a Close or Abort ends them). Any goroutine may call it.
func NewWriter(t interface {
	io.Writer
	transport.FlowControl
}) *Writer {
	return &Writer{t: t, ctx: context.Background()}
}

// NewWriterContext is NewWriter with a context bounding every wait: once
// ctx ends, a Write that has to wait for a paused transport returns
// ctx.Err() (the bytes it was given are already buffered). Any goroutine
// may call it.
func NewWriterContext(ctx context.Context, t interface {
	io.Writer
	transport.FlowControl
}) *Writer {
	return &Writer{t: t, ctx: ctx}
}

// Write writes p to the transport, then waits while it is paused. It
// returns len(p) and the wait's error, or what the transport's Write
// returned when it failed (for a WriteTransport, 0 and its error: it
// never writes part of p).
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.t.Write(p)
	if err != nil {
		return n, err
	}
	return n, w.t.Drain(w.ctx)
}

// Reader is an io.Reader over a transport's Data events. It claims the
// transport's events (no other consumer may take them) and returns io.EOF
// after the peer's EOF or a clean Lost, and Lost's error when it carries
// one. Its WriteTo hands each read to a writer without copying it, so
// io.Copy(w, r) moves the stream with no buffer of its own.
//
// Over pooled events (transport.WithPooledData) a Reader releases each
// event once its bytes are all copied out or written, and every event it
// drops: nothing of the Reader's is used after that Release.
//
// A Reader is the transport's one consumer: do not also range over its
// Events. A program that stops reading before io.EOF or an error must
// Close or Abort the transport, so that its read goroutine ends.
//
// A Reader may be used by one goroutine at a time (Read and WriteTo
// included).
type Reader struct {
	events <-chan stream.Event
	cur    stream.Event // the event rest is left of, released once rest is empty
	rest   []byte
	err    error
}

var _ io.WriterTo = (*Reader)(nil)

// NewReader claims t's events and returns a Reader over them. When the
// events already had another consumer, the first Read returns
// stream.ErrAlreadySubscribed. Any goroutine may call it.
func NewReader(t transport.ReadTransport) *Reader {
	return &Reader{events: t.Events()}
}

// Read reads the next bytes of the stream, waiting for them. An empty p
// returns 0, nil at once, as io.Reader asks.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.rest) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.next()
	}
	n := copy(p, r.rest)
	r.consumed(n)
	return n, nil
}

// WriteTo writes the rest of the stream to w until io.EOF or an error,
// waiting for it: first what a Read left of an event, then each Data
// event's bytes as they are, in one w.Write each (w must not retain
// them, as io.Writer's contract says), each event released once w.Write
// returns. It returns the bytes written and nil at the stream's clean end
// (the peer's EOF, a clean Lost), Lost's error when it carries one, or
// w's error (io.ErrShortWrite for a short write without one); the bytes
// w did not take are left for the next Read or WriteTo. io.Copy and
// io.CopyBuffer call it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(r.rest) == 0 {
			if r.err != nil {
				if r.err == io.EOF {
					return total, nil
				}
				return total, r.err
			}
			r.next()
		}
		n, err := w.Write(r.rest)
		n = max(0, min(n, len(r.rest)))
		total += int64(n)
		r.consumed(n)
		if err == nil && len(r.rest) > 0 {
			err = io.ErrShortWrite
		}
		if err != nil {
			return total, err
		}
	}
}

// consumed drops the first n bytes of rest, releasing their event once
// none is left.
func (r *Reader) consumed(n int) {
	r.rest = r.rest[n:]
	if len(r.rest) == 0 {
		r.cur.Release()
		r.cur = stream.Event{}
	}
}

// next waits for the next event that matters to a reader, releasing the
// others.
func (r *Reader) next() {
	e, ok := <-r.events
	switch {
	case !ok, e.Kind == stream.EOF:
		r.err = io.EOF
	case e.Kind == stream.Data && len(e.Data) > 0:
		r.cur, r.rest = e, e.Data
		return
	case e.Kind == stream.Lost:
		r.err = e.Err
		if r.err == nil {
			r.err = io.EOF
		}
	}
	e.Release()
}
