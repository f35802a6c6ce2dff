package adapters

import (
	"context"
	"os/exec"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// SubprocessProtocol is asyncio's SubprocessProtocol: the callbacks of a
// subprocess transport.
//
// The adapter calls them one at a time, never two at once, in each
// pipe's order. They run on the goroutine that read the pipe (on Linux
// the poller loop the child's pipes share; else a goroutine per pipe) or
// saw the exit, except PauseWriting and ResumeWriting (stdin's flow
// control), which may run on the goroutine whose Write caused them.
// Callbacks must not block for long: one that blocks stalls its loop. A
// panicking callback kills the child and ends the transport with a
// *PanicError as ConnectionLost's error.
type SubprocessProtocol interface {
	// ConnectionMade is called first, exactly once, once every pipe is
	// connected.
	ConnectionMade(t transport.SubprocessTransport)
	// PipeDataReceived is called with bytes the child wrote to fd (1 or
	// 2). Like DataReceived, it must not retain data after it returns.
	PipeDataReceived(fd int, data []byte)
	// PipeConnectionLost is called once per pipe when it closes (fd 0, 1
	// or 2); err is nil at a normal end.
	PipeConnectionLost(fd int, err error)
	// ProcessExited is called once when the child exits; ReturnCode then
	// has its code. Output may still follow (a grandchild holding the
	// pipe, say).
	ProcessExited()
	// ConnectionLost is called last, exactly once, after ProcessExited
	// and every PipeConnectionLost; err is nil unless a callback panicked.
	ConnectionLost(err error)
	// PauseWriting is called when the stdin pipe's buffer goes over its
	// high-water mark.
	PauseWriting()
	// ResumeWriting is called when it comes back to its low-water mark.
	ResumeWriting()
}

// BaseSubprocessProtocol has empty implementations of every
// SubprocessProtocol method: embed it and define only the callbacks you
// need.
type BaseSubprocessProtocol struct{}

// ConnectionMade does nothing.
func (BaseSubprocessProtocol) ConnectionMade(transport.SubprocessTransport) {}

// PipeDataReceived does nothing.
func (BaseSubprocessProtocol) PipeDataReceived(int, []byte) {}

// PipeConnectionLost does nothing.
func (BaseSubprocessProtocol) PipeConnectionLost(int, error) {}

// ProcessExited does nothing.
func (BaseSubprocessProtocol) ProcessExited() {}

// ConnectionLost does nothing.
func (BaseSubprocessProtocol) ConnectionLost(error) {}

// PauseWriting does nothing.
func (BaseSubprocessProtocol) PauseWriting() {}

// ResumeWriting does nothing.
func (BaseSubprocessProtocol) ResumeWriting() {}

var _ SubprocessProtocol = BaseSubprocessProtocol{}

// AdaptProcess drives a subprocess transport's events into p's callbacks
// and returns once ConnectionMade has returned, with Adapt's errors.
func AdaptProcess(t transport.SubprocessTransport, p SubprocessProtocol) error {
	r, err := attach(t, subprocessCallbacks{t, p})
	if err != nil {
		return err
	}
	r.made.Wait()
	return r.madeErr
}

// RunProcess starts cmd (asyncio's subprocess_exec), makes a protocol
// with factory and drives the transport's events into it. It returns at
// once, as Connect does: once ConnectionMade has returned, with the
// transport and the protocol, or with AdaptProcess's errors, a
// *PanicError or ErrNilProtocol from the factory; on such an error the
// transport is aborted, which kills the child. ctx bounds the start only.
// Any goroutine may call it.
func RunProcess[P SubprocessProtocol](ctx context.Context, cmd *exec.Cmd, factory func() P, opts ...transport.Option) (transport.SubprocessTransport, P, error) {
	open := func() (transport.SubprocessTransport, error) { return transport.Exec(ctx, cmd, opts...) }
	return start(open, factory, adaptProcess[P])
}

// RunShell runs cmdline with /bin/sh -c (asyncio's subprocess_shell, and
// transport.Shell), with RunProcess's behaviour otherwise. The caller
// quotes what the shell must not interpret.
func RunShell[P SubprocessProtocol](ctx context.Context, cmdline string, factory func() P, opts ...transport.Option) (transport.SubprocessTransport, P, error) {
	open := func() (transport.SubprocessTransport, error) { return transport.Shell(ctx, cmdline, opts...) }
	return start(open, factory, adaptProcess[P])
}

// subprocessCallbacks calls a SubprocessProtocol's methods.
type subprocessCallbacks struct {
	t transport.SubprocessTransport
	p SubprocessProtocol
}

func (s subprocessCallbacks) concurrent() bool { return true }
func (s subprocessCallbacks) made()            { s.p.ConnectionMade(s.t) }

func (s subprocessCallbacks) received(e stream.Event) {
	switch e.Kind {
	case stream.PipeData:
		s.p.PipeDataReceived(e.FD, e.Data)
	case stream.PipeLost:
		s.p.PipeConnectionLost(e.FD, e.Err)
	case stream.Exited:
		s.p.ProcessExited()
	}
}

func (s subprocessCallbacks) eof() bool      { return true }
func (s subprocessCallbacks) lost(err error) { s.p.ConnectionLost(err) }
func (s subprocessCallbacks) pauseWriting()  { s.p.PauseWriting() }
func (s subprocessCallbacks) resumeWriting() { s.p.ResumeWriting() }
