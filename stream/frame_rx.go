package stream

import (
	"context"

	"github.com/reactivex/rxgo/v2"
)

// Observable frames the events of src (a transport's Observable, or any
// Observable of Event items) and returns the framed stream (see Frame) as
// an Observable built with rxgo.Defer: each item's value is an Event,
// frames as Data events; Lost is an ordinary item, the last, and the
// Observable then completes. Items that are not Events (an upstream error
// item such as ErrAlreadySubscribed, another value) pass through
// unchanged. Framing emits no rxgo error items of its own.
//
// Each subscription (Observe) subscribes to src with its own context, and
// frames as Frames does: it holds at most one item and the bytes of one
// incomplete frame, so a subscriber that stops consuming stops src. On an
// oversize frame (or a Split function's error) it calls abort (normally
// the transport's Abort; it may be nil), reads src to its end, dropping
// what comes, and emits a Lost whose error wraps ErrFrameTooLarge. The end
// of the stream is handled as in Frames (a final line for Lines,
// ErrTruncatedFrame for the others).
//
// The subscriber's context (rxgo.WithContext, given here or to Observe)
// bounds the subscription: when it is cancelled before Lost, Observable
// emits nothing more, calls abort, and reads src to its end, so every
// goroutine ends. Always give the final Observe a context you cancel.
// opts are passed to rxgo untouched.
//
// A Framer made with bad arguments does not subscribe to src: it calls
// abort and emits a single Lost carrying the error.
func (f Framer) Observable(src rxgo.Observable, abort func(), opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		f.produce(ctx, next, src, abort)
	}}, opts...)
}

// Operator returns Observable as an rx operator, a function from the
// source Observable to the framed one, for pipelines built from such
// functions:
//
//	frames := stream.Lines(0).Operator(t.Abort)(t.Observable())
func (f Framer) Operator(abort func(), opts ...rxgo.Option) func(rxgo.Observable) rxgo.Observable {
	return func(src rxgo.Observable) rxgo.Observable { return f.Observable(src, abort, opts...) }
}

func (f Framer) produce(ctx context.Context, next chan<- rxgo.Item, src rxgo.Observable, abort func()) {
	emit := func(e Event) bool {
		if rxgo.Of(e).SendContext(ctx, next) {
			return true
		}
		e.Release() // not delivered: nobody else will
		return false
	}
	s := framing{split: f.split, limit: f.limit}
	defer s.dropPending()
	if err := f.check(); err != nil {
		s.fail(err, emit, abort, func() error { return nil })
		return
	}
	up := src.Observe(rxgo.WithContext(ctx))
	defer drainItems(up)
	drain := func() error { return drainItems(up) }
	for {
		select {
		case it, ok := <-up:
			if !ok {
				s.finish(emit)
				return
			}
			e, isEvent := it.V.(Event)
			if it.Error() || !isEvent {
				if !it.SendContext(ctx, next) {
					callAbort(abort)
					return
				}
				continue
			}
			if !s.consume(e, emit, abort, drain) {
				return
			}
		case <-ctx.Done():
			callAbort(abort)
			return
		}
	}
}

// drainItems reads up to its end, releasing the events it drops, and
// returns the last Lost's error.
func drainItems(up <-chan rxgo.Item) error {
	var err error
	for it := range up {
		if e, ok := it.V.(Event); ok {
			e.Release()
			if e.Kind == Lost {
				err = e.Err
			}
		}
	}
	return err
}
