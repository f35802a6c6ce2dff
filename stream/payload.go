package stream

import (
	"context"

	"github.com/reactivex/rxgo/v2"
)

// Payloads returns the bytes of in's Data, Datagram and PipeData events,
// in order, on a channel as bounded as in (its capacity, at least 1), and
// a function reporting how the stream ended. Other events are dropped;
// each payload is the event's own Data, owned by the receiver. Over a
// framed stream (Frames), each payload is one frame.
//
// One goroutine reads in and closes the channel once in is closed. The
// function returns Lost's error once the channel is closed: nil for a
// clean end (or when in closed without a Lost), and nil before the end.
// Read the channel until it is closed; to stop early, end the source
// (abort the transport) and keep receiving until it is closed.
func Payloads(in <-chan Event) (<-chan []byte, func() error) {
	out := make(chan []byte, max(cap(in), 1))
	done := make(chan struct{})
	var err error
	go func() {
		defer close(out)
		for e := range in {
			switch e.Kind {
			case Data, Datagram, PipeData:
				out <- e.Data
			case Lost:
				err = e.Err
			}
		}
		close(done) // before out: a consumer that saw out closed sees err
	}()
	return out, func() error {
		select {
		case <-done:
			return err
		default:
			return nil
		}
	}
}

// PayloadsObservable returns the bytes of src's Data, Datagram and
// PipeData events as an Observable of []byte items, built with
// rxgo.Defer. Other events are dropped; items that are not Events (an
// upstream error item) pass through unchanged. A Lost with an error
// becomes an rxgo error item carrying it, then the Observable completes;
// a clean Lost completes it.
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
				it = rxgo.Of(e.Data)
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
