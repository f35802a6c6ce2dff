package queue

import (
	"testing"
	"testing/synctest"

	"github.com/rxnet/rxnet/stream"
)

// TestSendDataWoken: SendData waits for room like Send, returns woken
// when its wake channel fires first (sending nothing), and reports
// neither after Release.
func TestSendDataWoken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(2, nil, nil)
		ch := opened(t, q)
		wake := make(chan struct{}, 1)
		for _, s := range []string{"1", "22"} {
			if sent, woken := q.SendData(data(s), wake); !sent || woken {
				t.Fatalf("SendData with room = %v, %v; want sent", sent, woken)
			}
		}
		res := make(chan [2]bool, 1)
		go func() {
			sent, woken := q.SendData(data("3"), wake)
			res <- [2]bool{sent, woken}
		}()
		synctest.Wait() // blocked: the channel is full
		wake <- struct{}{}
		if r := <-res; r != [2]bool{false, true} {
			t.Fatalf("SendData woken = %v; want not sent, woken", r)
		}
		if got := trace(drainNow(ch)); got != "Data(1) Data(2)" { // lengths
			t.Fatalf("queued %q; want Data(1) Data(2): a woken send sends nothing", got)
		}
		q.Send(data("4"))
		q.Send(data("5"))
		q.Release()
		if sent, woken := q.SendData(data("6"), wake); sent || woken {
			t.Fatalf("SendData after Release on a full channel = %v, %v; want neither", sent, woken)
		}
	})
}

// TestTakeBackReturnsDataKeepsOthers: TakeBack takes the Data events the
// consumer has not received, in order, and leaves the flow events
// queued, in order.
func TestTakeBackReturnsDataKeepsOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(4, nil, nil)
		ch := opened(t, q)
		q.Send(data("ab"))
		q.Control(pause)
		q.Send(data("cd"))
		q.Control(resume)
		if got := string(q.TakeBack()); got != "abcd" {
			t.Fatalf("TakeBack = %q; want abcd", got)
		}
		if got := trace(drainNow(ch)); got != "PauseWriting ResumeWriting" {
			t.Fatalf("left queued %q; want PauseWriting ResumeWriting", got)
		}
		if got := q.TakeBack(); got != nil {
			t.Fatalf("TakeBack on an empty channel = %q; want nil", got)
		}
	})
}

// TestTakeBackObservableNil: an Observable subscriber's items are its
// pipeline's: TakeBack takes nothing.
func TestTakeBackObservableNil(t *testing.T) {
	q := New(2, nil, nil)
	if got := q.TakeBack(); got != nil {
		t.Fatalf("TakeBack before a claim = %q; want nil", got)
	}
}

// TestWR6_FinishAfterReleaseKeepsAlternation: a consumer that still
// receives after Release sees every flow event, alternating, then Lost:
// Finish waits for room (finishGrace) before it drops anything.
func TestWR6_FinishAfterReleaseKeepsAlternation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(2, nil, nil)
		ch := opened(t, q)
		q.Control(pause)
		if e := <-ch; e.Kind != stream.PauseWriting {
			t.Fatalf("got %v; want PauseWriting", e)
		}
		q.Control(resume)
		q.Control(pause) // the channel is full: Resume, Pause
		q.Release()
		done := make(chan struct{})
		go func() {
			defer close(done)
			q.Finish(lost(nil))
		}()
		if got, want := trace(collect(ch)), "ResumeWriting PauseWriting Lost(<nil>)"; got != want {
			t.Fatalf("a receiving consumer got %q; want %q", got, want)
		}
		<-done
	})
}

// drainNow returns the events queued now, without waiting.
func drainNow(ch <-chan stream.Event) []stream.Event {
	var evs []stream.Event
	for {
		e, ok, got := tryRecv(ch)
		if !got || !ok {
			return evs
		}
		evs = append(evs, e)
	}
}
