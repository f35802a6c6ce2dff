package queue

import (
	"testing"
	"testing/synctest"

	"github.com/rxnet/rxnet/stream"
)

// TestRD4_SendEOFReturnsOnceTakenDespiteLaterControl: a transport closes
// itself once Send(EOF) returns (RD4), so Send(EOF) must not return before
// the consumer has taken EOF, and must return as soon as it has, even when
// a control event (a ResumeWriting from the flush) came after it and the
// consumer reads nothing more.
func TestRD4_SendEOFReturnsOnceTakenDespiteLaterControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(4, nil, nil)
		ch := q.Events()
		sent := make(chan bool, 1)
		go func() {
			q.Send(stream.Event{Kind: stream.Made})
			q.Send(stream.Event{Kind: stream.Data, Data: []byte("x")})
			sent <- q.Send(stream.Event{Kind: stream.EOF})
		}()
		for _, want := range []stream.Kind{stream.Made, stream.Data} {
			if e := <-ch; e.Kind != want {
				t.Fatalf("got %v, want %v", e, want)
			}
		}
		synctest.Wait() // EOF is in the channel; Send waits for it to be taken
		select {
		case <-sent:
			t.Fatal("Send(EOF) returned before the consumer took EOF")
		default:
		}
		q.Control(stream.Event{Kind: stream.PauseWriting})
		if e := <-ch; e.Kind != stream.EOF {
			t.Fatalf("got %v, want EOF (control events wait while EOF is pending)", e)
		}
		if !<-sent {
			t.Fatal("Send(EOF) reported false")
		}
		if e := <-ch; e.Kind != stream.PauseWriting {
			t.Fatalf("got %v after EOF, want the PauseWriting", e)
		}
		q.Finish(stream.Event{Kind: stream.Lost})
		if e := <-ch; e.Kind != stream.Lost {
			t.Fatalf("got %v, want Lost", e)
		}
	})
}
