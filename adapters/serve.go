package adapters

import (
	"context"
	"fmt"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/transport"
)

// Adapt drives an open transport's events into p's callbacks, a
// Protocol's or a BufferedProtocol's (see StreamProtocol), and returns
// once ConnectionMade has returned. It fails with ErrNotAdaptable when
// the transport's events already have a consumer, with ErrNoDataCallback
// when p is neither, and with the *PanicError when ConnectionMade
// panicked (the transport is then aborted and ConnectionLost gets the
// same error). Any goroutine may call it.
func Adapt(t transport.Transport, p StreamProtocol) error {
	r, err := attachStream(t, p)
	if err != nil {
		return err
	}
	r.made.Wait()
	return r.madeErr
}

// Connect dials addr (asyncio's create_connection), makes a protocol with
// factory and drives the transport's events into it. Like every function
// here that opens something, it returns at once: once ConnectionMade has
// returned, with the transport and the protocol, or with Adapt's errors
// (the transport is then aborted). A factory that panics or returns nil
// fails it with a *PanicError or ErrNilProtocol. P is a Protocol or a
// BufferedProtocol (see StreamProtocol). ctx bounds connecting only. Any
// goroutine may call it.
func Connect[P StreamProtocol](ctx context.Context, network, addr string, factory func() P, opts ...transport.Option) (transport.Transport, P, error) {
	open := func() (transport.Transport, error) { return transport.Dial(ctx, network, addr, opts...) }
	return start(open, factory, adaptStream[P])
}

// Serve accepts transports from srv and drives each into a new protocol
// from factory (asyncio's create_server with a protocol factory, then
// serve_forever). Unlike the functions that open something (Connect,
// ListenDatagram, RunProcess, ...), which return once ConnectionMade has
// returned, Serve blocks, as http.Server's Serve does: until ctx ends or
// srv is closed. Run it in its own goroutine and end it with srv's Close
// or Shutdown, or with ctx. It returns ctx.Err(),
// transport.ErrServerClosed once srv is closed or shut down, or the
// listener's error if accepting failed. It does not wait for one
// ConnectionMade before accepting the next connection. A factory that
// panics or returns nil aborts that one connection, whose error goes to
// the server's error handler (transport.WithErrorHandler); Serve goes
// on. P is a Protocol or a BufferedProtocol (see StreamProtocol). Serve
// starts serving a server listened
// transport.WithStartServing(false), as asyncio's serve_forever does. Any
// goroutine may call it.
func Serve[P StreamProtocol](ctx context.Context, srv *transport.Server, factory func() P) error {
	for {
		t, err := srv.Accept(ctx)
		if err != nil {
			return err
		}
		if _, err := adaptNew(t, factory, serveStream[P]); err != nil {
			reportError(t, fmt.Errorf("adapters: Serve's protocol factory: %w", err))
		}
	}
}

// serveStream is Serve's adapt: it does not wait for ConnectionMade, so
// that a slow one does not stall accepting.
func serveStream[P StreamProtocol](t transport.Transport, p P) error {
	_, err := attachStream(t, p)
	return err
}

// attachStream drives t into p, a Protocol or a BufferedProtocol.
func attachStream(t transport.Transport, p StreamProtocol) (*runner, error) {
	cb, err := streamCallbacksFor(t, p)
	if err != nil {
		return nil, err
	}
	return attach(t, cb)
}

// reportError hands err to t's error handler (transport.WithErrorHandler),
// which logs it when there is none.
func reportError(t transport.Transport, err error) {
	if at, ok := t.(sink.Attacher); ok {
		at.ReportError(err)
	}
}
