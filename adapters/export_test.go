package adapters

import "github.com/rxnet/rxnet/stream"

// SetForwardHook makes h see each event as the read goroutine begins to
// forward it to a detached stream, until the returned func restores none.
func SetForwardHook(h func(stream.Event)) (restore func()) {
	forwardHook.Store(&h)
	return func() { forwardHook.Store(nil) }
}
