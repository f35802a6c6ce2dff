package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

func TestFramesOversizeAbortsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(lost(nil), made(), data("ok\n"))
		s.endless = true // then "x" forever: a line that never ends
		got := collect(stream.Lines(8).Frames(s.q.Events(), s.abort))
		if show(got) != `Made "ok" Lost` {
			t.Fatalf("framed %s", show(got))
		}
		if err := lostErr(t, got); !errors.Is(err, stream.ErrFrameTooLarge) {
			t.Errorf("Lost's error %v; want ErrFrameTooLarge", err)
		}
		<-s.done
		if n := s.aborts.Load(); n != 1 {
			t.Errorf("abort called %d times; want 1", n)
		}
	})
}

func TestFramerObservable(t *testing.T) {
	s := newScript(lost(nil), made(), data("he"), data("llo\nwor"), pause, data("ld\n"), stream.Event{Kind: stream.EOF})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := itemEvents(t, items(stream.Lines(0).Observable(s.q.Observable(), s.abort).Observe(rxgo.WithContext(ctx))))
	if show(got) != `Made "hello" PauseWriting "world" EOF Lost` {
		t.Errorf("framed %s", show(got))
	}
	<-s.done
	if n := s.aborts.Load(); n != 0 {
		t.Errorf("abort called %d times on a complete stream", n)
	}
}

func TestFramerObservableOversize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScript(lost(nil), made(), data("ok\n"))
		s.endless = true
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := itemEvents(t, items(stream.Lines(4).Observable(s.q.Observable(), s.abort).Observe(rxgo.WithContext(ctx))))
		if show(got) != `Made "ok" Lost` {
			t.Fatalf("framed %s", show(got))
		}
		if err := lostErr(t, got); !errors.Is(err, stream.ErrFrameTooLarge) {
			t.Errorf("Lost's error %v; want ErrFrameTooLarge", err)
		}
		<-s.done
		if n := s.aborts.Load(); n != 1 {
			t.Errorf("abort called %d times; want 1", n)
		}
	})
}

// lineQueue is a transport's Queue sending "a\nb\n" until released,
// counting its sends.
func lineQueue() (q *Queue, sent *atomic.Int64, done chan struct{}) {
	sent, done = new(atomic.Int64), make(chan struct{})
	start := func() {
		go func() {
			defer close(done)
			if q.Send(made()) {
				for q.Send(data("a\nb\n")) {
					sent.Add(1)
				}
			}
			q.Finish(lost(nil))
		}()
	}
	q = New(start, func() { q.Release() })
	return q, sent, done
}

func TestLC5_FramerObservableCancel(t *testing.T) {
	for _, read := range []int{0, 1, 7} {
		t.Run(fmt.Sprint(read, " read"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q, _, done := lineQueue()
				ctx, cancel := context.WithCancel(context.Background())
				obs := stream.Lines(0).Observable(q.Observable(), q.Release).
					Map(func(_ context.Context, v any) (any, error) { return v, nil }).
					Observe(rxgo.WithContext(ctx))
				for range read {
					<-obs
				}
				synctest.Wait()
				cancel()
				<-done // the transport was aborted and finished
				for range obs {
				}
			})
		})
	}
}

// TestRD2_FramerObservableBackpressure: a stalled final subscriber stops
// the transport's sends.
func TestRD2_FramerObservableBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, sent, done := lineQueue()
		ctx, cancel := context.WithCancel(context.Background())
		obs := stream.Lines(0).Observable(q.Observable(), q.Release).
			Filter(func(v any) bool { return true }).
			Observe(rxgo.WithContext(ctx))
		synctest.Wait()
		if n := sent.Load(); n > 10 {
			t.Errorf("%d sends with a stalled subscriber; want at most 10", n)
		}
		for range 100 {
			<-obs
		}
		synctest.Wait()
		if n := sent.Load(); n > 60 {
			t.Errorf("%d sends for 100 items read; want at most 60", n)
		}
		cancel()
		<-done
		for range obs {
		}
	})
}

func TestLC5_PayloadsObservableCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q, _, done := lineQueue()
		ctx, cancel := context.WithCancel(context.Background())
		obs := stream.PayloadsObservable(stream.Lines(0).Observable(q.Observable(), q.Release)).Observe(rxgo.WithContext(ctx))
		for range 3 {
			if it := <-obs; string(it.V.([]byte)) != "a" && string(it.V.([]byte)) != "b" {
				t.Errorf("item %v", it.V)
			}
		}
		cancel()
		<-done
		for range obs {
		}
	})
}

// show formats a framed stream with each frame's bytes: `"ab" EOF Lost`.
// Lost's error is checked apart.
func show(evs []stream.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		switch e.Kind {
		case stream.Data:
			s[i] = fmt.Sprintf("%q", e.Data)
		case stream.Lost:
			s[i] = "Lost"
		default:
			s[i] = e.String()
		}
	}
	return strings.Join(s, " ")
}

// lostErr returns the error of the last event, which must be a Lost.
func lostErr(t *testing.T, evs []stream.Event) error {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Kind != stream.Lost {
		t.Fatalf("stream %q does not end with Lost", show(evs))
	}
	return evs[len(evs)-1].Err
}
