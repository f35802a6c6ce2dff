package queue

import (
	"context"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// Observable returns the queue's events as an rxgo Observable built with
// rxgo.Defer: each subscription (Observe) claims the queue, so only the
// first one receives events and any other gets one ErrAlreadySubscribed
// error item. Each item's value is an Event; Lost is an ordinary item,
// always the last, and the Observable then completes. rxnet emits no error
// items of its own beyond ErrAlreadySubscribed.
//
// The subscriber's context (rxgo.WithContext, given here or to Observe)
// bounds the subscription: when it is cancelled before Lost, the transport
// is aborted, so nothing stays half-read and every goroutine ends. Always
// give the final Observe a context you cancel: rxgo starts a goroutine per
// subscription that only ends with it. opts are passed to rxgo untouched.
func (q *Queue) Observable(opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{q.produce}, opts...)
}

// produce runs on rxgo's goroutine for the subscription: it claims the
// queue as a channel consumer would and forwards each event to next, so
// the subscription is the queue's only consumer goroutine. Made waits
// for the subscriber, release or not, until its context ends.
func (q *Queue) produce(ctx context.Context, next chan<- rxgo.Item) {
	if !q.claim.CompareAndSwap(claimNone, claimObservable) {
		select {
		case next <- rxgo.Error(stream.ErrAlreadySubscribed):
		case <-ctx.Done():
		}
		return
	}
	q.startOnce(true)
	for {
		select {
		case e, ok := <-q.ch:
			if !ok {
				return
			}
			select {
			case next <- rxgo.Of(e):
				continue
			case <-ctx.Done():
				e.Release() // never reached the subscriber
			}
		case <-ctx.Done():
		}
		q.Release()
		select { // gone: so that Finish need not keep a Made for it
		case e := <-q.ch:
			e.Release()
		default:
		}
		if q.abort != nil {
			q.abort()
		}
		for range q.ch { // the transport ends without waiting for anyone: Lost closes ch
		}
		return
	}
}
