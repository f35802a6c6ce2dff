package main

// The pooled modes (issue 14): the events, rx and rw echo servers over
// transports made with transport.WithPooledData, whose Data events carry
// buffers from rxnet's pool. Each server gives every event back with
// stream.Event.Release once its bytes are written (t.Write never retains
// its argument), so that the next reads reuse the buffers instead of the
// garbage collector freeing one copy per read. They honour flow control
// as their unpooled siblings do (drain, adapters.Writer): a pooled
// buffer is held at most until the write that echoes it returns, so
// what a server holds stays bounded by the transport's read limit and
// write buffer.

import (
	"context"
	"io"
	"net"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// serveEventsPooled is serveEvents over pooled events: echoEvents writes
// each Data event back, then releases it.
func serveEventsPooled(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, echoEvents, transport.WithPooledData())
}

// serveRxPooled is serveRx over pooled events. Its one rxgo stage, a
// Filter, passes the Data and EOF events on whole, not just their
// payloads, so that the observer, the stage that writes, can release
// each Data event once written. The subscription's context is cancelled
// at the end, and the transports are half-open after EOF, closed by the
// observer when EOF comes through the pipeline, as in serveRx.
func serveRxPooled(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		events := t.Observable().Filter(func(v any) bool {
			k := v.(stream.Event).Kind
			return k == stream.Data || k == stream.EOF
		})
		for item := range events.Observe(rxgo.WithContext(ctx)) {
			e, ok := item.V.(stream.Event)
			switch {
			case !ok:
			case e.Kind == stream.Data:
				_, _ = t.Write(e.Data)
				e.Release()
				drain(ctx, t)
			case e.Kind == stream.EOF:
				t.Close() // flushes the replies, then closes
			}
		}
	}, transport.WithHalfClose(), transport.WithPooledData())
}

// serveRWPooled is serveRW over pooled events: io.Copy from the
// transport's adapters.Reader, which releases each event it has consumed
// (and whose WriteTo, where it has one, hands each Data event's bytes to
// the Writer with no copy: io.Copy then uses it), to its
// adapters.Writer, which waits while writing is paused.
func serveRWPooled(ctx context.Context, addr string) (net.Addr, error) {
	return acceptEach(ctx, addr, func(_ context.Context, t transport.Transport) {
		defer t.Close()
		_, _ = io.Copy(adapters.NewWriter(t), adapters.NewReader(t))
	}, transport.WithPooledData())
}
