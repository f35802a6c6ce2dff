package transport_test

import (
	"runtime"
	"strings"
)

// offLoopGoroutines returns, by goroutine header, the stacks of the
// goroutines running rxnet's transport or adapters code off the poller
// loops (a loop may still be finishing a callback), but for a
// subprocess's reaper: what an idle transport on a loop must not hold.
func offLoopGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	found := map[string]string{}
	for _, g := range strings.Split(stacks, "\n\n") {
		switch {
		case strings.Contains(g, "internal/poll.(*loop)"), strings.Contains(g, "transport.(*process).wait"):
		case strings.Contains(g, "rxnet/rxnet/transport.") || strings.Contains(g, "rxnet/rxnet/adapters."):
			found[strings.SplitN(g, " [", 2)[0]] = g
		}
	}
	return found
}
