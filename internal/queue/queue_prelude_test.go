package queue

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// The prelude (a detached stream's own Made and rest) and a Finish that
// comes before any claim.

// TestLC1_PreludeFirstThenControl: the claim puts the prelude in the
// channel before anything else, and a control event queued before the
// claim follows it.
func TestLC1_PreludeFirstThenControl(t *testing.T) {
	q := New(nil, nil)
	q.Prelude(made(), data("rest"))
	q.Control(pause) // before the claim: it waits for the prelude
	ch := q.Events()
	for _, want := range []stream.Event{made(), data("rest"), pause} {
		if e := <-ch; e.Kind != want.Kind || string(e.Data) != string(want.Data) {
			t.Fatalf("got %v, want %v", e, want)
		}
	}
	q.Finish(lost(nil))
	if got := trace(collect(ch)); got != "Lost(<nil>)" {
		t.Fatalf("after the prelude: %s, want Lost(<nil>)", got)
	}
}

// TestLC2_FinishBeforeClaimDeliveredByClaim: Finish before any consumer
// returns at once; a later claim, channel or Observable, gets the
// prelude, then Lost, then the end. (A detached stream whose transport
// ended before anyone claimed it.)
func TestLC2_FinishBeforeClaimDeliveredByClaim(t *testing.T) {
	boom := errors.New("boom")
	t.Run("channel", func(t *testing.T) {
		q := New(nil, nil)
		q.Prelude(made(), data("rest"))
		q.Finish(lost(boom))
		if got := trace(collect(q.Events())); got != "Made Data(4) Lost(boom)" {
			t.Fatalf("stream %s, want Made Data(4) Lost(boom)", got)
		}
		if n := q.Delivered(); n != 3 {
			t.Fatalf("Delivered = %d, want 3", n)
		}
	})
	t.Run("observable", func(t *testing.T) {
		q := New(nil, nil)
		q.Prelude(made())
		q.Finish(lost(boom))
		its := items(q.Observable().Observe(rxgo.WithContext(context.Background())))
		if len(its) != 2 || its[0].V.(stream.Event).Kind != stream.Made || its[1].V.(stream.Event).Err != boom {
			t.Fatalf("items %v, want Made, Lost(boom)", its)
		}
	})
	t.Run("observable-cancelled", func(t *testing.T) {
		var q *Queue
		q = New(nil, func() { q.Finish(lost(nil)) }) // as a transport's Abort
		q.Prelude(made())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		items(q.Observable().Observe(rxgo.WithContext(ctx))) // completes
	})
}

// TestLC1_FinishAfterReleaseBeforeMadeTaken: after Release, Finish takes
// back what the consumer has not received, but not the prelude's Made:
// a consumer that had received nothing gets Made, then Lost.
func TestLC1_FinishAfterReleaseBeforeMadeTaken(t *testing.T) {
	q := New(nil, nil)
	q.Prelude(made(), data("rest"))
	ch := q.Events()
	q.Release()
	go q.Finish(lost(nil))
	// The rest may still go in as the consumer takes Made: a prefix.
	if got := trace(collect(ch)); got != "Made Lost(<nil>)" && got != "Made Data(4) Lost(<nil>)" {
		t.Fatalf("stream %s, want Made (Data(4)) Lost(<nil>)", got)
	}
}

// TestLC1_FinishAfterReleaseKeepsTakenPrelude: once the consumer has
// taken the prelude's Made, Finish after Release drops only what follows.
func TestLC1_FinishAfterReleaseKeepsTakenPrelude(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		q.Prelude(made(), data("rest"))
		ch := q.Events()
		if e := <-ch; e.Kind != stream.Made {
			t.Fatalf("first %v, want Made", e)
		}
		synctest.Wait() // the rest is in the slot
		q.Release()
		q.Finish(lost(nil))
		if got := trace(collect(ch)); got != "Lost(<nil>)" {
			t.Fatalf("after Made: %s, want Lost(<nil>)", got)
		}
	})
}

// TestWR6_ControlBeforeClaimOfFinishedQueue: a flow event that waited for
// the claim of a queue finished before it is dropped: the claim closes
// the channel after Lost, and nothing may be sent after that.
func TestWR6_ControlBeforeClaimOfFinishedQueue(t *testing.T) {
	q := New(nil, nil)
	q.Prelude(made())
	q.Control(pause)
	q.Finish(lost(nil))
	if got := trace(collect(q.Events())); got != "Made Lost(<nil>)" {
		t.Fatalf("stream %s, want Made Lost(<nil>)", got)
	}
}

// TestRD1_NoGapAfterReleaseDrop: once an event was dropped for want of
// room after Release, a later one is dropped too, even with room again:
// the consumer's stream ends with a tail missing, never with a gap. A
// detached stream's producer still forwards what its transport reads
// while the transport closes (found by the chaos suite).
func TestRD1_NoGapAfterReleaseDrop(t *testing.T) {
	q := New(nil, nil)
	ch := opened(t, q)
	if sent, _ := q.SendData(data("1"), nil); !sent {
		t.Fatal("SendData with room = false")
	}
	q.Release()
	if sent, _ := q.SendData(data("2"), nil); sent {
		t.Fatal("SendData without room after Release = true")
	}
	if e := <-ch; string(e.Data) != "1" { // room again
		t.Fatalf("got %v, want Data(1)", e)
	}
	if sent, _ := q.SendData(data("3"), nil); sent {
		t.Fatal("SendData after a dropped event delivered: a gap (2 missing, 3 there)")
	}
	q.Finish(lost(nil))
	if got := trace(collect(ch)); got != "Lost(<nil>)" {
		t.Fatalf("rest of the stream %s, want Lost(<nil>)", got)
	}
}
