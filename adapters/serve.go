package adapters

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/transport"
)

// Adapt drives an open transport's events into p's callbacks and returns
// once ConnectionMade has returned. It fails with ErrNotAdaptable when
// the transport's events already have a consumer, and with the
// *PanicError when ConnectionMade panicked (the transport is then aborted
// and ConnectionLost gets the same error).
func Adapt(t transport.Transport, p Protocol) error {
	r, err := attach(t, streamCallbacks{t, p})
	if err != nil {
		return err
	}
	<-r.made
	return r.madeErr
}

// Connect dials addr (asyncio's create_connection), makes a protocol with
// factory and drives the transport's events into it. It returns once
// ConnectionMade has returned, with Adapt's errors. ctx bounds connecting
// only.
func Connect[P Protocol](ctx context.Context, network, addr string, factory func() P, opts ...transport.Option) (transport.Transport, P, error) {
	var zero P
	t, err := transport.Dial(ctx, network, addr, opts...)
	if err != nil {
		return nil, zero, err
	}
	p, err := makeProtocol(factory)
	if err == nil {
		err = Adapt(t, p)
	}
	if err != nil {
		t.Abort()
		return nil, zero, err
	}
	return t, p, nil
}

// Serve accepts transports from srv and drives each into a new protocol
// from factory (asyncio's create_server with a protocol factory), until
// ctx ends or srv is closed. It returns ctx.Err(),
// transport.ErrServerClosed once srv is closed or shut down, or the
// listener's error if accepting failed. A factory that panics or returns
// nil aborts that one connection, whose error goes to the server's error
// handler (transport.WithErrorHandler); Serve goes on. Serve starts serving a
// server listened transport.WithStartServing(false), as asyncio's
// serve_forever does.
func Serve[P Protocol](ctx context.Context, srv *transport.Server, factory func() P) error {
	for {
		t, err := srv.Accept(ctx)
		if err != nil {
			return err
		}
		p, err := makeProtocol(factory)
		if err == nil {
			_, err = attach(t, streamCallbacks{t, p}) // no wait: a slow ConnectionMade must not stall accepting
		}
		if err != nil {
			t.Abort()
			reportError(t, fmt.Errorf("adapters: Serve's protocol factory: %w", err))
		}
	}
}

// makeProtocol calls factory, turning a panic or a nil result into an
// error.
func makeProtocol[P any](factory func() P) (p P, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	p = factory()
	if v := reflect.ValueOf(p); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return p, ErrNilProtocol
	}
	return p, nil
}

// reportError hands err to t's error handler (transport.WithErrorHandler),
// which logs it when there is none.
func reportError(t transport.Transport, err error) {
	if at, ok := t.(sink.Attacher); ok {
		at.ReportError(err)
	}
}
