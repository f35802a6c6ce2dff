package stream

import (
	"bytes"
	"context"
	"sync"

	"github.com/rxnet/rxnet/internal/bufpool"

	"github.com/reactivex/rxgo/v2"
)

// Payloads returns the bytes of in's Data, Datagram and PipeData events,
// in order, on a channel as bounded as in (its capacity, at least 1), and
// a function reporting how the stream ended. Other events are dropped;
// each payload is the event's own Data, owned by the receiver. Over a
// framed stream (Frames), each payload is one frame.
//
// Over pooled events (transport.WithPooledData, or Frames over them) a
// payload has no Release of its own: it is valid until the consumer's
// next receive from the channel, and Payloads releases its buffer once
// it knows that receive happened (when the send of the payload the
// channel's capacity further on completes). The last payloads, those
// received before the channel is found closed, are valid until the
// function is called after that: its first call then releases them.
// Copy (bytes.Clone) a payload to keep it longer. A consumer that never
// calls the function costs only the reuse of those buffers.
//
// One goroutine reads in and closes the channel once in is closed. The
// function returns Lost's error once the channel is closed: nil for a
// clean end (or when in closed without a Lost), and nil before the end.
// Any goroutine may call it, any number of times. Read the channel until
// it is closed; to stop early, end the source (abort the transport) and
// keep receiving until it is closed.
func Payloads(in <-chan Event) (<-chan []byte, func() error) {
	c := max(cap(in), 1)
	out := make(chan []byte, c)
	done := make(chan struct{})
	var err error
	held := make(heldRefs, 0, c+1)
	go func() {
		defer close(out)
		for e := range in {
			switch e.Kind {
			case Data, Datagram, PipeData:
				out <- e.Data
				held = held.push(e.ref)
			case Lost:
				err = e.Err
			}
		}
		close(done) // before out: a consumer that saw out closed sees err
	}()
	var once sync.Once
	return out, func() error {
		select {
		case <-done:
			once.Do(func() { held.releaseAll() })
			return err
		default:
			return nil
		}
	}
}

// heldRefs holds the buffers of the last payloads sent on a channel of
// capacity cap-1, oldest first. Once the send of payload k has completed,
// the channel holds at most cap-1 payloads, so the consumer has received
// payload k-cap+1 and is done with k-cap (the Go memory model: the kth
// receive is synchronized before the completion of the k+Cth send): push
// releases that one.
type heldRefs []bufpool.Ref

// push appends r, the buffer of the payload whose send just completed,
// releasing the oldest when the ring is full.
func (h heldRefs) push(r bufpool.Ref) heldRefs {
	if len(h) == cap(h) {
		h[0].Release()
		h = append(h[:0], h[1:]...)
	}
	return append(h, r)
}

// releaseAll releases every buffer held.
func (h heldRefs) releaseAll() {
	for _, r := range h {
		r.Release()
	}
}

// PayloadsObservable returns the bytes of src's Data, Datagram and
// PipeData events as an Observable of []byte items, built with
// rxgo.Defer. Other events are dropped; items that are not Events (an
// upstream error item) pass through unchanged. A Lost with an error
// becomes an rxgo error item carrying it, then the Observable completes;
// a clean Lost completes it.
//
// A pooled event's payload is a copy (rxgo's stages may hold an item for
// any time, and a []byte has no Release): the event is released at once,
// so the items are the subscriber's to keep.
//
// Each subscription subscribes to src with its own context (the
// subscriber's, from rxgo.WithContext given here or to Observe): when it
// is cancelled, nothing more is emitted and src is read to its end (a
// transport's Observable aborts the transport then). opts are passed to
// rxgo untouched.
func PayloadsObservable(src rxgo.Observable, opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		producePayloads(ctx, next, src)
	}}, opts...)
}

func producePayloads(ctx context.Context, next chan<- rxgo.Item, src rxgo.Observable) {
	up := src.Observe(rxgo.WithContext(ctx))
	defer drainItems(up)
	for {
		var it rxgo.Item
		var ok bool
		select {
		case it, ok = <-up:
			if !ok {
				return
			}
		case <-ctx.Done():
			return
		}
		e, isEvent := it.V.(Event)
		if isEvent && !it.Error() {
			switch e.Kind {
			case Data, Datagram, PipeData:
				it = rxgo.Of(ownedData(e))
			case Lost:
				if e.Err != nil {
					rxgo.Error(e.Err).SendContext(ctx, next)
				}
				return
			default:
				continue
			}
		}
		if !it.SendContext(ctx, next) {
			return
		}
	}
}

// ownedData returns e's Data for a receiver that keeps it: a copy of a
// pooled event's, whose buffer it releases.
func ownedData(e Event) []byte {
	if !e.Pooled() {
		return e.Data
	}
	p := bytes.Clone(e.Data)
	e.Release()
	return p
}
