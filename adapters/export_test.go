package adapters

import (
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// SetForwardHook makes h see each event as the read goroutine begins to
// forward it to a detached stream, until the returned func restores none.
func SetForwardHook(h func(stream.Event)) (restore func()) {
	forwardHook.Store(&h)
	return func() { forwardHook.Store(nil) }
}

// SetOpenedHook makes h see each transport an entry point (Connect,
// ListenDatagram, RunProcess, ...) opened, before its factory runs,
// until the returned func restores none.
func SetOpenedHook(h func(transport.BaseTransport)) (restore func()) {
	openedHook.Store(&h)
	return func() { openedHook.Store(nil) }
}
