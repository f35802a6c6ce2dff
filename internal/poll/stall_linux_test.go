package poll

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestBlockedCallbackStallsOnlyItsLoop: with two loops, a callback
// blocked on a channel holds its own loop only; a descriptor on the other
// loop keeps being served. The test releases the block at the end.
func TestBlockedCallbackStallsOnlyItsLoop(t *testing.T) {
	withLoops(t, 2)
	a, b := socketpair(t)
	blocked, release := make(chan struct{}), make(chan struct{})
	c := register(t, a, &handler{readable: func(buf []byte) bool {
		close(blocked)
		<-release
		unix.Read(a, buf)
		return false
	}})
	ea, eb := socketpair(t)
	e := registerEcho(t, ea)
	if e.l == c.l {
		t.Fatal("both Conns are on one loop")
	}
	c.SetReading(true)
	unix.Write(b, []byte("x"))
	<-blocked
	roundTrip(t, fileConn(t, eb), pattern(100<<10, 5), 5)
	close(release)
}
