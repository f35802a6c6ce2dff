package adapters

import (
	"reflect"
	"runtime/debug"
	"sync/atomic"

	"github.com/rxnet/rxnet/transport"
)

// openedHook, when set (by tests only), is called with each transport
// start opened, before the factory runs: a test waits on its Done after
// an entry point failed, when the caller got no transport.
var openedHook atomic.Pointer[func(transport.BaseTransport)]

// start is every entry point that opens something and adapts it
// (Connect, ConnectDatagram, ListenDatagram, RunProcess, RunShell,
// ConnectReadPipe, ConnectWritePipe): open, then a protocol from
// factory, then adapt, which returns once ConnectionMade has returned.
// When open fails nothing was made and its error is returned as is; any
// later failure aborts the transport and returns zero values with the
// error.
func start[T transport.BaseTransport, P any](open func() (T, error), factory func() P, adapt func(T, P) error) (T, P, error) {
	var zeroT T
	var zeroP P
	t, err := open()
	if err != nil {
		return zeroT, zeroP, err
	}
	if h := openedHook.Load(); h != nil {
		(*h)(t)
	}
	p, err := adaptNew(t, factory, adapt)
	if err != nil {
		return zeroT, zeroP, err
	}
	return t, p, nil
}

// adaptNew makes a protocol with factory and drives t into it with adapt;
// on any failure (the factory panicked or returned nil, adapt failed) it
// aborts t. Serve shares it, with an adapt that does not wait.
func adaptNew[T transport.BaseTransport, P any](t T, factory func() P, adapt func(T, P) error) (P, error) {
	p, err := makeProtocol(factory)
	if err == nil {
		err = adapt(t, p)
	}
	if err != nil {
		t.Abort()
		var zero P
		return zero, err
	}
	return p, nil
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

// The adapt functions of start, one per protocol kind: the exported
// Adapt functions, whose protocol parameter is an interface, for a
// factory's concrete P.

func adaptStream[P StreamProtocol](t transport.Transport, p P) error { return Adapt(t, p) }

func adaptDatagram[P DatagramProtocol](t transport.DatagramTransport, p P) error {
	return AdaptDatagram(t, p)
}

func adaptProcess[P SubprocessProtocol](t transport.SubprocessTransport, p P) error {
	return AdaptProcess(t, p)
}

// adaptPipe drives a pipe transport into a Protocol. The transports of
// pipes implement the whole Transport (the half they lack fails), so
// that one Protocol type serves both, as in asyncio.
func adaptPipe[T transport.BaseTransport, P StreamProtocol](t T, p P) error {
	full, ok := any(t).(transport.Transport)
	if !ok {
		return ErrNotAdaptable
	}
	return Adapt(full, p)
}
