package stream_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// newGreeter returns a Queue fed the way a transport feeds it: once the
// queue is claimed, a producer goroutine sends Made, two Data events and
// EOF, then finishes with a clean Lost.
func newGreeter() *stream.Queue {
	var q *stream.Queue
	start := func() {
		go func() {
			q.Send(stream.Event{Kind: stream.Made})
			q.Send(stream.Event{Kind: stream.Data, Data: []byte("hello")})
			q.Send(stream.Event{Kind: stream.Data, Data: []byte(" world")})
			q.Send(stream.Event{Kind: stream.EOF})
			q.Finish(stream.Event{Kind: stream.Lost})
		}()
	}
	abort := func() { q.Release() } // a transport would Abort here
	q = stream.NewQueue(4, start, abort)
	return q
}

func ExampleQueue_Events() {
	q := newGreeter()
	for ev := range q.Events() {
		switch ev.Kind {
		case stream.Data:
			fmt.Printf("%v %q\n", ev, ev.Data)
		default:
			fmt.Println(ev)
		}
	}
	// Output:
	// Made
	// Data(5) "hello"
	// Data(6) " world"
	// EOF
	// Lost(<nil>)
}

func ExampleQueue_Observable() {
	q := newGreeter()

	// Always give the subscription a context and cancel it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	upper := q.Observable(rxgo.WithContext(ctx)).
		Filter(func(v any) bool { return v.(stream.Event).Kind == stream.Data }).
		Map(func(_ context.Context, v any) (any, error) {
			return strings.ToUpper(string(v.(stream.Event).Data)), nil
		})
	for item := range upper.Observe(rxgo.WithContext(ctx)) {
		if item.Error() {
			fmt.Println("error:", item.E)
			return
		}
		fmt.Printf("%q\n", item.V)
	}
	fmt.Println("completed")
	// Output:
	// "HELLO"
	// " WORLD"
	// completed
}

func ExampleErrAlreadySubscribed() {
	q := newGreeter()
	events := q.Events() // the first consumer claims the queue

	// A second consumer, here an Observable subscription, gets one error
	// item and none of the events.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for item := range q.Observable().Observe(rxgo.WithContext(ctx)) {
		fmt.Println("second consumer:", item.E)
	}

	n := 0
	for range events {
		n++
	}
	fmt.Println("first consumer:", n, "events")
	// Output:
	// second consumer: stream: events already have a consumer
	// first consumer: 5 events
}
