package transport

import (
	"os"

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
// a transport is made: "goroutine" or "poll"; unset or anything else, the
// platform's default (poll where internal/poll runs, on Linux).
const engineVar = "RXNET_ENGINE"

// usePoller reports whether a transport made now may be read by a poller
// loop. Any goroutine may call it.
func usePoller() bool {
	return poll.Supported() && os.Getenv(engineVar) != engineGoroutine
}
