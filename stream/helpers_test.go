package stream

import (
	"errors"
	"testing"

	"github.com/reactivex/rxgo/v2"
)

// Test helpers shared by the stream tests: events, and collecting them
// from a channel or an Observable.

var errBoom = errors.New("boom")

func made() Event          { return Event{Kind: Made} }
func data(s string) Event  { return Event{Kind: Data, Data: []byte(s)} }
func lost(err error) Event { return Event{Kind: Lost, Err: err} }

var (
	pause  = Event{Kind: PauseWriting}
	resume = Event{Kind: ResumeWriting}
)

// collect receives from ch until it is closed.
func collect(ch <-chan Event) []Event {
	var out []Event
	for e := range ch {
		out = append(out, e)
	}
	return out
}

// items receives from an Observe channel until it is closed (completion).
func items(ch <-chan rxgo.Item) []rxgo.Item {
	var out []rxgo.Item
	for it := range ch {
		out = append(out, it)
	}
	return out
}

// itemEvents returns the items' Events, failing on an error item or a
// value that is not an Event.
func itemEvents(t *testing.T, its []rxgo.Item) []Event {
	t.Helper()
	evs := make([]Event, 0, len(its))
	for i, it := range its {
		if it.Error() {
			t.Fatalf("item %d is an error item: %v", i, it.E)
		}
		e, ok := it.V.(Event)
		if !ok {
			t.Fatalf("item %d is a %T, not an Event", i, it.V)
		}
		evs = append(evs, e)
	}
	return evs
}
