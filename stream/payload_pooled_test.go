package stream

import (
	"context"
	"fmt"
	"testing"

	"github.com/reactivex/rxgo/v2"
)

// TestRD5_PayloadsReleaseAfterNextReceive: over pooled events, a payload
// is intact until the consumer's next receive, Payloads has released
// every payload but the last ones (the channel's capacity plus one) when
// the channel closes, and the end function releases those.
func TestRD5_PayloadsReleaseAfterNextReceive(t *testing.T) {
	withPoison(t)
	for _, capacity := range []int{0, 1, 4} {
		t.Run(fmt.Sprint("cap ", capacity), func(t *testing.T) {
			const n = 50
			var inputs []Event
			for i := range n {
				k := []Kind{Data, Datagram, PipeData}[i%3]
				inputs = append(inputs, PooledEvent(k, fmt.Appendf(nil, "payload %d", i)))
			}
			in := make(chan Event, capacity)
			go func() {
				for i, e := range inputs {
					in <- e
					if i%7 == 0 {
						in <- Event{Kind: PauseWriting}
					}
				}
				in <- lost(nil)
				close(in)
			}()
			out, end := Payloads(in)
			held := max(capacity, 1) + 1
			i := 0
			for p := range out {
				// Valid until the next receive: the race detector sees a
				// release that came before this read.
				if want := fmt.Sprintf("payload %d", i); string(p) != want {
					t.Fatalf("payload %d is %q; want %q", i, p, want)
				}
				i++
			}
			if i != n {
				t.Fatalf("%d payloads; want %d", i, n)
			}
			for j, e := range inputs {
				if released := poisoned(e.Data); released != (j < n-held) {
					t.Errorf("before the end function: payload %d released %v; want %v", j, released, j < n-held)
				}
			}
			if err := end(); err != nil {
				t.Fatal(err)
			}
			end() // a second call does nothing more
			for j, e := range inputs {
				if !poisoned(e.Data) {
					t.Errorf("payload %d never released", j)
				}
			}
		})
	}
}

// TestRD5_PayloadsObservableCopies: PayloadsObservable's items are
// copies of pooled events' bytes, which it releases at once: every item
// stays intact after every input is released.
func TestRD5_PayloadsObservableCopies(t *testing.T) {
	withPoison(t)
	inputs := []Event{PooledEvent(Data, []byte("ab")), PooledEvent(Datagram, []byte("cd")), PooledEvent(PipeData, []byte("ef"))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	its := items(PayloadsObservable(eventsObservable(append(append([]Event{made()}, inputs...), lost(nil))...)).Observe(rxgo.WithContext(ctx)))
	for j, e := range inputs {
		if !poisoned(e.Data) {
			t.Errorf("input %d was not released", j)
		}
	}
	var got string
	for _, it := range its {
		got += string(it.V.([]byte)) + "|"
	}
	if got != "ab|cd|ef|" {
		t.Fatalf("items %q; want \"ab|cd|ef|\"", got)
	}
}
