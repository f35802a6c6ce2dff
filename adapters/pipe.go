package adapters

import (
	"os"

	"github.com/rxnet/rxnet/transport"
)

// ConnectReadPipe makes f a read pipe transport (asyncio's
// connect_read_pipe), makes a protocol with factory and drives the pipe's
// events into it: DataReceived, EOFReceived (whose result is ignored: a
// read pipe always closes at EOF), ConnectionLost. ConnectionMade gets the
// pipe as a Transport whose writes fail. It returns at once, as Connect
// does: once ConnectionMade has returned, with the transport and the
// protocol, or with Adapt's errors, a *PanicError or ErrNilProtocol from
// the factory (the pipe is then aborted, and f closed with it). Any
// goroutine may call it.
func ConnectReadPipe[P StreamProtocol](f *os.File, factory func() P, opts ...transport.Option) (transport.ReadTransport, P, error) {
	open := func() (transport.ReadTransport, error) { return transport.ReadPipe(f, opts...) }
	return start(open, factory, adaptPipe[transport.ReadTransport, P])
}

// ConnectWritePipe makes f a write pipe transport (asyncio's
// connect_write_pipe), makes a protocol with factory and drives the
// pipe's events into it: PauseWriting, ResumeWriting, ConnectionLost.
// ConnectionMade gets the pipe as a Transport that never reads. It
// returns at once, as ConnectReadPipe does.
func ConnectWritePipe[P StreamProtocol](f *os.File, factory func() P, opts ...transport.Option) (transport.WriteTransport, P, error) {
	open := func() (transport.WriteTransport, error) { return transport.WritePipe(f, opts...) }
	return start(open, factory, adaptPipe[transport.WriteTransport, P])
}
