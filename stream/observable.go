package stream

import (
	"context"

	"github.com/reactivex/rxgo/v2"
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

func (q *Queue) produce(ctx context.Context, next chan<- rxgo.Item) {
	if !q.claimAs(claimObservable) {
		select {
		case next <- rxgo.Error(ErrAlreadySubscribed):
		case <-ctx.Done():
		}
		return
	}
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
			}
		case <-ctx.Done():
		}
		if q.abort != nil {
			q.abort()
		}
		return
	}
}
