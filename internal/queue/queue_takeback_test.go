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
		q := New(nil, nil)
		ch := opened(t, q)
		wake := make(chan struct{}, 1)
		if sent, woken := q.SendData(data("1"), wake); !sent || woken {
			t.Fatalf("SendData with room = %v, %v; want sent", sent, woken)
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
		if got := trace(drainNow(ch)); got != "Data(1)" { // lengths
			t.Fatalf("queued %q; want Data(1): a woken send sends nothing", got)
		}
		q.Send(data("4"))
		q.Release()
		if sent, woken := q.SendData(data("6"), wake); sent || woken {
			t.Fatalf("SendData after Release on a full channel = %v, %v; want neither", sent, woken)
		}
	})
}

// TestTL1_TakeBackReturnsDataKeepsOthers: TakeBack takes the Data event
// the consumer has not received, and leaves a flow event queued, with the
// ones waiting beside the slot after it, in order. It does not wait for
// the consumer to make room for them, since the consumer may be the
// caller (a channel consumer's StartTLS takes back what it has not
// received): the helper blocked in its send gives up, and its event goes
// in after the take-back.
func TestTL1_TakeBackReturnsDataKeepsOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("ab"))
		if got := string(q.TakeBack()); got != "ab" {
			t.Fatalf("TakeBack = %q; want ab", got)
		}
		q.Control(pause)  // in the slot
		q.Control(resume) // beside it: its helper waits for room
		synctest.Wait()   // the helper is blocked in its send
		if got := q.TakeBack(); got != nil {
			t.Fatalf("TakeBack with a flow event in the slot = %q; want nil", got)
		}
		var got []stream.Event
		for range 2 {
			got = append(got, <-ch)
		}
		if trace(got) != "PauseWriting ResumeWriting" {
			t.Fatalf("left queued %q; want PauseWriting ResumeWriting", trace(got))
		}
		if got := q.TakeBack(); got != nil {
			t.Fatalf("TakeBack on an empty channel = %q; want nil", got)
		}
	})
}

// TestTakeBackObservableNil: an Observable subscriber's items are its
// pipeline's: TakeBack takes nothing.
func TestTakeBackObservableNil(t *testing.T) {
	q := New(nil, nil)
	if got := q.TakeBack(); got != nil {
		t.Fatalf("TakeBack before a claim = %q; want nil", got)
	}
}

// TestWR6_FinishAfterReleaseKeepsAlternation: Finish after Release
// never waits: it takes back the event the consumer has not received and
// drops the ones waiting beside the slot, so the flow events a consumer
// still receiving sees are a prefix of the alternation, then Lost.
func TestWR6_FinishAfterReleaseKeepsAlternation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Control(pause)
		if e := <-ch; e.Kind != stream.PauseWriting {
			t.Fatalf("got %v; want PauseWriting", e)
		}
		q.Control(resume)
		q.Control(pause) // the slot holds Resume; Pause waits beside it
		q.Release()
		q.Finish(lost(nil))
		if got, want := trace(collect(ch)), "Lost(<nil>)"; got != want {
			t.Fatalf("got %q; want %q", got, want)
		}
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
