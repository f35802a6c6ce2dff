package transport

import "github.com/rxnet/rxnet/internal/poll"

// LoopID returns the id of the goroutine running the poller loop that
// reads t (a stream transport or a datagram endpoint), or 0 when none
// does (for tests in package transport_test).
func LoopID(t BaseTransport) uint64 {
	c := packetCore(t)
	if tc, ok := t.(*conn); ok {
		c = &tc.core
	}
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lc == nil {
		return 0
	}
	return c.lc.LoopID()
}

// SetLoops is poll.SetLoops, for tests in package transport_test.
func SetLoops(n int) int { return poll.SetLoops(n) }
