package transport

import "github.com/rxnet/rxnet/internal/poll"

// LoopID returns the id of the goroutine running the poller loop that
// reads t, or 0 when none does (for tests in package transport_test).
func LoopID(t Transport) uint64 {
	c, ok := t.(*conn)
	if !ok {
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
