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

func (q *Queue) produce(ctx context.Context, next chan<- rxgo.Item) {
	if !q.claim.CompareAndSwap(claimNone, claimObservable) {
		select {
		case next <- rxgo.Error(stream.ErrAlreadySubscribed):
		case <-ctx.Done():
		}
		return
	}
	if !q.sink(ctx, next) {
		return
	}
	q.startOnce(false) // the producer sends to next itself
	select {
	case <-q.finished:
	case <-ctx.Done():
		close(q.gone)
		q.Release()
		if q.abort != nil {
			q.abort()
		}
		<-q.finished // rxgo closes next once this returns: no send may follow
	}
	select { // Finish counted it
	case next <- rxgo.Of(*q.lost):
	case <-ctx.Done():
	}
}

// sink delivers the prelude to next and makes next the producer's sink;
// it reports false when the subscription already ended: its context, or
// a Lost from before the claim (delivered here).
func (q *Queue) sink(ctx context.Context, next chan<- rxgo.Item) bool {
	q.mu.Lock()
	prelude := q.prelude
	q.mu.Unlock()
	for _, e := range prelude {
		if !q.emit(ctx, next, e) {
			q.Release()
			if q.abort != nil {
				q.abort()
			}
			return false
		}
	}
	q.mu.Lock()
	ended, lost := q.ended, q.lost
	if !ended {
		q.items, q.finished, q.gone = next, make(chan struct{}), make(chan struct{})
		q.sinking = true
	}
	q.mu.Unlock()
	if ended {
		q.emit(ctx, next, *lost)
		return false
	}
	return true
}

// emit sends e to next, counting it; it reports false when ctx ended first.
func (q *Queue) emit(ctx context.Context, next chan<- rxgo.Item, e stream.Event) bool {
	select {
	case next <- rxgo.Of(e):
		q.sent.Add(1)
		return true
	case <-ctx.Done():
		return false
	}
}
