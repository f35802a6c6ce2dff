package queue

import (
	"testing"
	"testing/synctest"

	"github.com/rxnet/rxnet/stream"
)

// TestRD4_ControlWaitsBehindEOF: Send(EOF) returns once EOF is in the
// channel; a control event that comes after it waits beside the channel
// (so that only Conclude's Lost can follow EOF) until Reopen, which a
// half-closed transport calls.
func TestRD4_ControlWaitsBehindEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := q.Events()
		q.Send(stream.Event{Kind: stream.Made})
		<-ch
		if !q.Send(stream.Event{Kind: stream.EOF}) {
			t.Fatal("Send(EOF) = false")
		}
		q.Control(stream.Event{Kind: stream.PauseWriting})
		if e := <-ch; e.Kind != stream.EOF {
			t.Fatalf("got %v, want EOF", e)
		}
		synctest.Wait()
		if _, _, ready := tryRecv(ch); ready {
			t.Fatal("a control event went in after EOF before Reopen")
		}
		q.Reopen()
		if e := <-ch; e.Kind != stream.PauseWriting {
			t.Fatalf("got %v after Reopen, want the PauseWriting", e)
		}
		q.Finish(stream.Event{Kind: stream.Lost})
		if e := <-ch; e.Kind != stream.Lost {
			t.Fatalf("got %v, want Lost", e)
		}
	})
}
