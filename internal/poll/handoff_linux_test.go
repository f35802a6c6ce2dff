package poll

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestHandoffLetsTheLoopGoOn: with one loop, a callback that hands the
// loop off and then blocks holds nothing but itself: another descriptor
// on the same loop keeps being served, and once the callback returns, the
// retired goroutine runs what Handoff gave it. Without Handoff the echo
// would stall (TestBlockedCallbackStallsOnlyItsLoop).
func TestHandoffLetsTheLoopGoOn(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	blocked, release, after := make(chan struct{}), make(chan struct{}), make(chan bool, 1)
	var c *Conn
	c = register(t, a, &handler{readable: func(buf []byte) bool {
		c.Close() // c leaves the loop first
		if !c.Handoff(func() { after <- c.InLoop() }) {
			t.Error("Handoff refused inside c's own callback")
		}
		close(blocked)
		<-release
		unix.Read(a, buf)
		return false
	}})
	ea, eb := socketpair(t)
	e := registerEcho(t, ea)
	if e.l != c.l {
		t.Fatal("the Conns are on different loops")
	}
	c.SetReading(true)
	unix.Write(b, []byte("x"))
	<-blocked
	roundTrip(t, fileConn(t, eb), pattern(100<<10, 5), 5)
	close(release)
	if inLoop := <-after; inLoop {
		t.Error("after runs on the loop")
	}
	if c.Handoff(func() {}) {
		t.Error("Handoff accepted outside a callback")
	}
}
