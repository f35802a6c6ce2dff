package adapters

import (
	"os"

	"github.com/rxnet/rxnet/transport"
)

// ConnectReadPipe makes f a read pipe transport (asyncio's
// connect_read_pipe), makes a protocol with factory and drives the pipe's
// events into it: DataReceived, EOFReceived (whose result is ignored: a
// read pipe always closes at EOF), ConnectionLost. ConnectionMade gets the
// pipe as a Transport whose writes fail. It returns once ConnectionMade
// has returned, with Adapt's errors.
func ConnectReadPipe[P Protocol](f *os.File, factory func() P, opts ...transport.Option) (transport.ReadTransport, P, error) {
	t, err := transport.ReadPipe(f, opts...)
	if err != nil {
		var zero P
		return nil, zero, err
	}
	return adaptPipe(t, factory)
}

// ConnectWritePipe makes f a write pipe transport (asyncio's
// connect_write_pipe), makes a protocol with factory and drives the
// pipe's events into it: PauseWriting, ResumeWriting, ConnectionLost.
// ConnectionMade gets the pipe as a Transport that never reads. It
// returns once ConnectionMade has returned, with Adapt's errors.
func ConnectWritePipe[P Protocol](f *os.File, factory func() P, opts ...transport.Option) (transport.WriteTransport, P, error) {
	t, err := transport.WritePipe(f, opts...)
	if err != nil {
		var zero P
		return nil, zero, err
	}
	return adaptPipe(t, factory)
}

// adaptPipe drives a pipe transport into a new protocol. The transports
// of pipes implement the whole Transport (the half they lack fails), so
// that one Protocol type serves both, as in asyncio.
func adaptPipe[T transport.BaseTransport, P Protocol](t T, factory func() P) (T, P, error) {
	var zeroT T
	var zero P
	full, ok := any(t).(transport.Transport)
	if !ok {
		return zeroT, zero, ErrNotAdaptable
	}
	p, err := makeProtocol(factory)
	if err == nil {
		err = Adapt(full, p)
	}
	if err != nil {
		full.Abort()
		return zeroT, zero, err
	}
	return t, p, nil
}
