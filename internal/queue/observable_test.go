package queue

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

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
func itemEvents(t *testing.T, its []rxgo.Item) []stream.Event {
	t.Helper()
	evs := make([]stream.Event, 0, len(its))
	for i, it := range its {
		if it.Error() {
			t.Fatalf("item %d is an error item: %v", i, it.E)
		}
		e, ok := it.V.(stream.Event)
		if !ok {
			t.Fatalf("item %d is a %T, not an Event", i, it.V)
		}
		evs = append(evs, e)
	}
	return evs
}

func TestLC2_ObservableItemsAreEventsLostLast(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"), data("bb"), stream.Event{Kind: stream.EOF})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs := itemEvents(t, items(s.q.Observable().Observe(rxgo.WithContext(ctx))))
	if got, want := trace(evs), "Made Data(1) Data(2) EOF Lost(<nil>)"; got != want {
		t.Errorf("items %q; want %q", got, want)
	}
	<-s.done
	if n := s.aborts.Load(); n != 0 {
		t.Errorf("abort called %d times on a completed subscription", n)
	}
	cancel() // after Lost: changes nothing
	if n := s.aborts.Load(); n != 0 {
		t.Errorf("abort called %d times after cancelling a completed subscription", n)
	}
}

func TestLC2_ObservableLostErrorIsAnItemNotAnError(t *testing.T) {
	s := newScript(lost(errBoom), made())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	its := items(s.q.Observable().Observe(rxgo.WithContext(ctx)))
	evs := itemEvents(t, its) // fails on an rxgo error item
	if got, want := trace(evs), "Made Lost(boom)"; got != want {
		t.Errorf("items %q; want %q", got, want)
	}
	if !errors.Is(evs[len(evs)-1].Err, errBoom) {
		t.Errorf("Lost's error %v; want %v", evs[len(evs)-1].Err, errBoom)
	}
	<-s.done
}

func TestObservableAfterEvents(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"))
	ch := s.q.Events()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	its := items(s.q.Observable().Observe(rxgo.WithContext(ctx)))
	if len(its) != 1 || !its[0].Error() || !errors.Is(its[0].E, stream.ErrAlreadySubscribed) {
		t.Fatalf("Observable after Events gave %d items %v; want one ErrAlreadySubscribed error item", len(its), its)
	}
	if got, want := trace(collect(ch)), "Made Data(1) Lost(<nil>)"; got != want {
		t.Errorf("the channel consumer got %q; want %q", got, want)
	}
	<-s.done
	if n := s.aborts.Load(); n != 0 {
		t.Errorf("the losing subscription called abort %d times", n)
	}
}

func TestEventsAfterObservable(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := s.q.Observable().Observe(rxgo.WithContext(ctx))
	<-s.started // the subscription has claimed the queue
	ch := s.q.Events()
	if got, want := trace(collect(ch)), "Lost("+stream.ErrAlreadySubscribed.Error()+")"; got != want {
		t.Errorf("Events after a subscription gave %q; want %q", got, want)
	}
	// Every later Events call loses the same way.
	if got, want := trace(collect(s.q.Events())), "Lost("+stream.ErrAlreadySubscribed.Error()+")"; got != want {
		t.Errorf("a second Events gave %q; want %q", got, want)
	}
	if got, want := trace(itemEvents(t, items(obs))), "Made Data(1) Lost(<nil>)"; got != want {
		t.Errorf("the subscriber got %q; want %q", got, want)
	}
	<-s.done
}

func TestObservableSecondSubscription(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"), data("b"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := s.q.Observable(rxgo.WithContext(ctx))
	first := o.Observe()
	<-s.started
	second := items(o.Observe())
	if len(second) != 1 || !errors.Is(second[0].E, stream.ErrAlreadySubscribed) {
		t.Errorf("second subscription gave %v; want one ErrAlreadySubscribed error item", second)
	}
	third := items(s.q.Observable().Observe(rxgo.WithContext(ctx)))
	if len(third) != 1 || !errors.Is(third[0].E, stream.ErrAlreadySubscribed) {
		t.Errorf("a subscription to another Observable of the queue gave %v; want one ErrAlreadySubscribed error item", third)
	}
	if got, want := trace(itemEvents(t, items(first))), "Made Data(1) Data(1) Lost(<nil>)"; got != want {
		t.Errorf("first subscriber got %q; want %q", got, want)
	}
	<-s.done
	if n := s.starts.Load(); n != 1 {
		t.Errorf("start called %d times; want 1", n)
	}
}

func TestLC5_CancelAbortsTransport(t *testing.T) {
	s := newScript(lost(nil), made())
	s.endless = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := s.q.Observable().Observe(rxgo.WithContext(ctx))
	first := <-obs
	if e, ok := first.V.(stream.Event); !ok || e.Kind != stream.Made {
		t.Fatalf("first item %v; want Made", first)
	}
	<-obs // some Data
	cancel()
	for range obs { // the subscription ends
	}
	<-s.done // the producer saw the abort and finished
	if n := s.aborts.Load(); n != 1 {
		t.Errorf("abort called %d times; want 1", n)
	}
}

func TestLC5_CancelBeforeFirstItemAborts(t *testing.T) {
	s := newScript(lost(nil), made())
	s.endless = true
	ctx, cancel := context.WithCancel(context.Background())
	obs := s.q.Observable().Observe(rxgo.WithContext(ctx))
	<-s.started
	cancel() // nobody ever reads obs
	<-s.done
	for range obs {
	}
	if n := s.aborts.Load(); n != 1 {
		t.Errorf("abort called %d times; want 1", n)
	}
}

func TestLC5_ContextGivenToObservable(t *testing.T) {
	// rxgo options given to Observable reach the subscription: the
	// context bounds it just like one given to Observe.
	s := newScript(lost(nil), made())
	s.endless = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := s.q.Observable(rxgo.WithContext(ctx)).Observe()
	<-obs
	cancel()
	for range obs {
	}
	<-s.done
	if n := s.aborts.Load(); n != 1 {
		t.Errorf("abort called %d times; want 1", n)
	}
}

func TestObservableOptionsPassThrough(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := s.q.Observable(rxgo.WithBufferedChannel(7)).Observe(rxgo.WithContext(ctx))
	if c := cap(obs); c != 7 {
		t.Errorf("Observe channel capacity %d; want the 7 given with rxgo.WithBufferedChannel", c)
	}
	if got := trace(itemEvents(t, items(obs))); got != "Made Data(1) Lost(<nil>)" {
		t.Errorf("items %q", got)
	}
	<-s.done
}

func TestObservableOperators(t *testing.T) {
	s := newScript(lost(nil), made(), data("hello "), stream.Event{Kind: stream.PauseWriting}, data("world"), stream.Event{Kind: stream.EOF})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var kinds []string
	obs := s.q.Observable(rxgo.WithContext(ctx)).
		Filter(func(v any) bool {
			kinds = append(kinds, v.(stream.Event).Kind.String())
			return v.(stream.Event).Kind == stream.Data
		}).
		Map(func(_ context.Context, v any) (any, error) {
			return strings.ToUpper(string(v.(stream.Event).Data)), nil
		}).
		Observe(rxgo.WithContext(ctx))
	var out strings.Builder
	for it := range obs {
		if it.Error() {
			t.Fatalf("error item %v", it.E)
		}
		out.WriteString(it.V.(string))
	}
	if out.String() != "HELLO WORLD" {
		t.Errorf("mapped %q; want %q", out.String(), "HELLO WORLD")
	}
	if got, want := strings.Join(kinds, " "), "Made Data PauseWriting Data EOF Lost"; got != want {
		t.Errorf("Filter saw %q; want %q", got, want)
	}
	<-s.done
}
