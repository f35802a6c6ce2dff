package transport

import (
	"log"
	"os"
	"sync"

	"github.com/rxnet/rxnet/internal/poll"
)

// The engines a transport can be read by (DESIGN.md, "Engines"): its own
// read goroutine, parked in Go's runtime poller, or a loop of
// internal/poll shared by many transports.
const (
	engineGoroutine = "goroutine"
	enginePoll      = "poll"
)

// engineVar names the environment variable that chooses the engine when
// a transport is made: "goroutine" or "poll"; unset, the platform's
// default (poll where internal/poll runs, on Linux). Any other value is
// reported once with the standard logger and means the default.
const engineVar = "RXNET_ENGINE"

var badEngine sync.Once

// usePoller reports whether a transport made now may be read by a poller
// loop. Any goroutine may call it.
func usePoller() bool {
	switch e := os.Getenv(engineVar); e {
	case engineGoroutine:
		return false
	case "", enginePoll:
	default:
		badEngine.Do(func() {
			log.Printf("rxnet: %s=%q is neither %q nor %q: the default engine runs", engineVar, e, enginePoll, engineGoroutine)
		})
	}
	return poll.Supported()
}
