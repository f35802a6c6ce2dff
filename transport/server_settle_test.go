package transport

import (
	"testing"

	"github.com/rxnet/rxnet/internal/queue"
)

// TestLC5_ServerForgetsEveryEndedTransport: a server forgets a transport
// once its descriptor closed and its Lost was delivered, in either
// order. shut closes the descriptor's done channel before it tells the
// server, so the read goroutine can deliver Lost first; the server then
// kept the transport in its ending set for good (the soak found one in a
// thousand connections that the GC could never free).
func TestLC5_ServerForgetsEveryEndedTransport(t *testing.T) {
	for _, lostFirst := range []bool{false, true} {
		s := &Server{
			conns:   make(map[*conn]struct{}),
			ending:  make(map[*conn]struct{}),
			lostYet: make(map[*conn]struct{}),
			changed: make(chan struct{}),
		}
		c := &conn{}
		c.q = queue.New(nil, nil)
		c.q.Events() // claimed: its Lost will be delivered
		s.track(c)
		if lostFirst {
			c.onLost()
			c.onDone()
		} else {
			c.onDone()
			c.onLost()
		}
		s.mu.Lock()
		held := len(s.conns) + len(s.ending) + len(s.lostYet)
		s.mu.Unlock()
		if held != 0 {
			t.Errorf("Lost first %v: the server still holds %d transports after the end", lostFirst, held)
		}
		if st := s.Stats(); st.Open != 0 || st.Accepted != 1 {
			t.Errorf("Lost first %v: Stats %+v, want Accepted 1, Open 0", lostFirst, st)
		}
	}
}
