package transport

import "log"

// WithErrorHandler has fn called with the errors that no caller would
// otherwise see, as net/http's Server.ErrorLog logs them: a server's
// accepted connection that could not be made a transport (its socket
// options failed, say), which is closed while the server goes on; a
// failure of the final flush of a transport that closes itself after
// its channel consumer has taken the peer's EOF (Lost said nil already,
// and Err stays nil); and, in package adapters, a panic in a Protocol's
// ConnectionLost (an error holding an *adapters.PanicError, with the
// value and the stack) or in a protocol factory Serve called. It applies
// to every constructor but StartTLS (the transport keeps its handler);
// given to Listen, it applies to the server and every transport it
// accepts. fn is called on the goroutine that met the error (the
// accepting one, or one of the transport's): it must not block for long;
// a panic in fn is recovered and dropped.
//
// Without it (or with a nil fn) such an error is logged with the standard
// logger (log.Printf), as net/http does when ErrorLog is nil; to drop them,
// pass a function that does nothing.
func WithErrorHandler(fn func(err error)) Option {
	return scoped("WithErrorHandler", transports, func(c *config) { c.onError = fn })
}

// reportError hands err to fn, or logs it with the standard logger when
// fn is nil.
func reportError(fn func(error), err error) {
	if fn == nil {
		log.Printf("rxnet: %v", err)
		return
	}
	defer func() { _ = recover() }()
	fn(err)
}

// ReportError implements sink.Attacher.
func (c *core) ReportError(err error) { reportError(c.onError, err) }

// ReportError implements sink.Attacher.
func (p *process) ReportError(err error) { reportError(p.onError, err) }
