//go:build unix

package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/internal/queue"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/stream"
)

// process is the subprocess transport: the child, the transports of its
// pipes, and one event queue into which the pipes' events are folded
// (pipesink.go).
type process struct {
	cmd     *exec.Cmd
	q       *queue.Queue
	pipes   [3]*conn                  // stdin, stdout, stderr; nil when not a pipe
	readCap int                       // bytes per pipe read for a channel consumer
	done    chan struct{}             // closed once reaped, every pipe closed and lostErr final
	decided chan struct{}             // closed once run has read Lost's error
	made    chan struct{}             // closed once Made is delivered
	pipesUp sync.WaitGroup            // one per pipe, until its PipeLost is delivered
	events  atomic.Int64              // passed to the adapter, for Stats
	steps   atomic.Int32              // run's and wait's calls of ended
	loop    atomic.Pointer[poll.Conn] // the first pipe's on a loop: the others go on its loop
	onError func(error)               // WithErrorHandler's

	mu      sync.Mutex
	handler sink.Handler
	closing bool
	code    int
	codeOK  bool
	lostErr error
	final   bool // lostErr is decided: Fail no longer sets it
	told    bool // the last flow event queued was PauseWriting
}

var (
	_ SubprocessTransport = (*process)(nil)
	_ sink.Attacher       = (*process)(nil)
)

// Exec starts cmd with its standard streams connected as the options say
// (pipes by default) and returns it as a SubprocessTransport (asyncio's
// subprocess_exec). ctx bounds the start only; a cmd made by
// exec.CommandContext is killed when its own context ends. A stream that cmd already sets (cmd.Stdin,
// cmd.Stdout, cmd.Stderr) must be an *os.File; it is the child's, not a
// pipe of the transport. The child runs at once; its output waits in the
// pipes until the events are claimed.
func Exec(ctx context.Context, cmd *exec.Cmd, opts ...Option) (SubprocessTransport, error) {
	return execCmd(ctx, kExec, cmd, opts)
}

// execCmd is Exec, or Shell (k).
func execCmd(ctx context.Context, k kinds, cmd *exec.Cmd, opts []Option) (SubprocessTransport, error) {
	cfg, err := resolve(opts, k)
	if err != nil {
		return nil, err
	}
	switch {
	case cmd == nil:
		return nil, errors.New("transport: Exec of a nil *exec.Cmd")
	case cmd.Process != nil:
		return nil, errors.New("transport: Exec of a started *exec.Cmd")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, readCap: cfg.readSize, onError: cfg.onError, made: make(chan struct{}),
		done: make(chan struct{}), decided: make(chan struct{})}
	childEnds, err := p.connect(cfg)
	if err == nil {
		err = cmd.Start()
	}
	closeAll(childEnds)
	if err != nil {
		for _, c := range p.pipes {
			if c != nil {
				c.nc.Close()
			}
		}
		return nil, err
	}
	p.q = queue.New(func() { go p.run() }, p.abort)
	go p.wait()
	return p, nil
}

// Shell runs cmdline with /bin/sh -c, as Exec (asyncio's
// subprocess_shell). The caller quotes what the shell must not
// interpret.
func Shell(ctx context.Context, cmdline string, opts ...Option) (SubprocessTransport, error) {
	if cmdline == "" {
		return nil, errors.New("transport: Shell of an empty command line")
	}
	return execCmd(ctx, kShell, exec.Command("/bin/sh", "-c", cmdline), opts)
}

// connect sets the child's standard streams and makes the transports of
// the pipes; it returns the child's ends, for the caller to close once
// the child has them.
func (p *process) connect(cfg resolved) (childEnds []*os.File, err error) {
	files := [3]*os.File{}
	for fd, set := range [3]any{p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr} {
		if f, ok := set.(*os.File); ok {
			files[fd] = f // the caller's own redirection
			continue
		}
		if !isNil(set) {
			return childEnds, fmt.Errorf("transport: Exec: fd %d is set to a %T: leave it nil or give an *os.File", fd, set)
		}
		switch cfg.stdio[fd] {
		case Inherit:
			files[fd] = []*os.File{os.Stdin, os.Stdout, os.Stderr}[fd]
		case Stdout:
			files[fd] = files[1]
		case Pipe:
			child, err := p.makePipe(fd, cfg)
			if err != nil {
				return childEnds, err
			}
			files[fd] = child
			childEnds = append(childEnds, child)
		}
	}
	if files[0] != nil {
		p.cmd.Stdin = files[0]
	}
	if files[1] != nil {
		p.cmd.Stdout = files[1]
	}
	if files[2] != nil {
		p.cmd.Stderr = files[2]
	}
	return childEnds, nil
}

// makePipe makes the pipe of one standard stream and the transport of the
// parent's end; it returns the child's end.
func (p *process) makePipe(fd int, cfg resolved) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	parent, child, kind := r, w, readPipe
	if fd == 0 {
		parent, child, kind = w, r, writePipe
	}
	c, err := newPipeConn(pipeFile{File: parent}, kind, cfg)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	c.info.pipe = parent
	c.q.Reserve() // the pipe's events are the subprocess transport's
	p.pipes[fd] = c
	p.pipesUp.Add(1)
	return child, nil
}

func isNil(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case *os.File:
		return v == nil
	}
	return false
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// wait reaps the child and records its exit code, then settles and,
// if run is done, delivers the rest (ended). With only *os.File
// streams (Exec allows no other), cmd.Wait waits for the child alone, not
// for a grandchild holding a pipe; it also ends exec.CommandContext's
// goroutine.
func (p *process) wait() {
	p.cmd.Wait()
	p.mu.Lock()
	p.code, p.codeOK = -1, true // reaped by someone else: unknown
	if ps := p.cmd.ProcessState; ps != nil {
		p.code = exitCode(ps)
	}
	p.mu.Unlock()
	go p.settle() // Done does not wait for the consumer to take Lost
	p.ended()
}

// settle closes done once the child is reaped (wait's caller) and every
// pipe is closed, with Lost's error final: a transport without an adapter
// gets no Fail, so its error is final at once; with an adapter, a
// callback may still panic until ended has read Lost's error, so settle
// waits for that (the adapter delivers by calling, never waiting for a
// consumer).
func (p *process) settle() {
	for _, c := range p.pipes {
		if c != nil {
			<-c.Done()
		}
	}
	p.mu.Lock()
	adapter := p.handler != nil
	if !adapter {
		p.final = true
	}
	p.mu.Unlock()
	if adapter {
		<-p.decided
	}
	close(p.done)
}

// exitCode is asyncio's returncode: the exit status, or minus the signal.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return ps.ExitCode()
}

// run is the delivering goroutine, started by the first claim of the
// events: Made, then the pipes start reading (their events come from
// their loops, or their own goroutines). It ends there unless the child
// was reaped already: the last of run and wait delivers the rest
// (ended), so that an idle subprocess holds wait's goroutine only.
func (p *process) run() {
	h := p.sink()
	// stdin first, so that a Write in ConnectionMade reaches the protocol
	// (its PipeLost waits for Made); stdout and stderr once Made is out.
	p.attachPipe(0)
	p.deliver(h, stream.Event{Kind: stream.Made})
	close(p.made)
	p.attachPipe(1)
	p.attachPipe(2)
	if h == nil && p.pipes[0] != nil {
		p.queueFlow() // a pause before the claim went to the pipe's own queue
	}
	p.ended()
}

// ended is called by run once the pipes read, and by wait once the
// child is reaped; the second call delivers Exited, then Lost once every
// pipe is lost.
func (p *process) ended() {
	if p.steps.Add(1) < 2 {
		return
	}
	h := p.sink()
	p.deliver(h, stream.Event{Kind: stream.Exited})
	p.pipesUp.Wait()
	p.mu.Lock()
	p.final = true
	lost := stream.Event{Kind: stream.Lost, Err: p.lostErr}
	p.mu.Unlock()
	close(p.decided)
	if h != nil {
		h.Event(lost)
		p.events.Add(1)
		return
	}
	p.q.Finish(lost)
}

// attachPipe makes the pipe of fd, if any, deliver to the subprocess
// transport, and starts it.
func (p *process) attachPipe(fd int) {
	c := p.pipes[fd]
	if c == nil {
		return
	}
	s := &pipeSink{p: p, fd: fd, c: c}
	size := s.readCap() // not under c.mu: p.mu is taken before c.mu
	c.attachReserved(s, func() { c.readCap = size })
}

func (p *process) sink() sink.Handler {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.handler
}

func (p *process) deliver(h sink.Handler, e stream.Event) {
	if h == nil {
		p.q.Send(e) // the queue counts what it delivers
		return
	}
	h.Event(e)
	p.events.Add(1)
}

// tryDeliver hands e to the adapter h unless it would wait (see
// sink.Handler.TryEvent), and reports whether it did.
func (p *process) tryDeliver(h sink.Handler, e stream.Event) bool {
	if !h.TryEvent(e) {
		return false
	}
	p.events.Add(1)
	return true
}

// Stats implements BaseTransport: the sum of the pipes' counters, with the
// subprocess transport's own events.
func (p *process) Stats() Stats {
	var s Stats
	for _, c := range p.pipes {
		if c != nil {
			s = s.Add(c.Stats())
		}
	}
	s.Events = p.events.Load() + p.q.Delivered()
	return s
}

// Events implements BaseTransport.
func (p *process) Events() <-chan stream.Event { return p.q.Events() }

// Observable implements BaseTransport.
func (p *process) Observable(opts ...rxgo.Option) rxgo.Observable { return p.q.Observable(opts...) }

// ExtraInfo implements BaseTransport: InfoSubprocess is the *exec.Cmd.
func (p *process) ExtraInfo(name string) (any, bool) {
	if name == InfoSubprocess {
		return p.cmd, true
	}
	return nil, false
}

// IsClosing implements BaseTransport: true once Close was called (a child
// that merely exited leaves it false, as asyncio).
func (p *process) IsClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing
}

// Close implements BaseTransport: it closes every pipe (each gives its
// PipeLost) and kills the child if it still runs; Exited and Lost
// follow. Unlike a socket's, the events after Close are all delivered:
// read them to Lost.
func (p *process) Close() error {
	if p.startClosing() {
		for _, c := range p.pipes {
			if c != nil {
				c.Close()
			}
		}
		p.killIfRunning()
	}
	return nil
}

// Done implements BaseTransport: closed once the child is reaped and
// every pipe is closed.
func (p *process) Done() <-chan struct{} { return p.done }

// Err implements BaseTransport: nil unless an adapter's callback
// panicked.
func (p *process) Err() error {
	select {
	case <-p.done:
	default:
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lostErr
}

// Unloop implements sink.Attacher: the adapter never detaches a
// subprocess transport; each pipe leaves its loop by itself when a
// delivery must wait (conn.Unloop).
func (p *process) Unloop() {}

// Abort implements BaseTransport: it aborts every pipe and kills the
// child if it still runs; Exited and Lost follow, and events still queued
// may be dropped.
func (p *process) Abort() { p.abort() }

// abort ends everything at once: Abort, the subscriber of the Observable
// went away, or a callback panicked.
func (p *process) abort() {
	if p.startClosing() {
		for _, c := range p.pipes {
			if c != nil {
				c.Abort()
			}
		}
		p.killIfRunning()
	}
	p.q.Release()
}

func (p *process) startClosing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	first := !p.closing
	p.closing = true
	return first
}

func (p *process) killIfRunning() {
	_ = p.Kill() // os.ErrProcessDone once it has exited
}

// PID implements SubprocessTransport.
func (p *process) PID() int { return p.cmd.Process.Pid }

// ReturnCode implements SubprocessTransport.
func (p *process) ReturnCode() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, p.codeOK
}

// PipeTransport implements SubprocessTransport.
func (p *process) PipeTransport(fd int) (BaseTransport, bool) {
	if fd < 0 || fd > 2 || p.pipes[fd] == nil {
		return nil, false // not a typed nil
	}
	return p.pipes[fd], true
}

// Stdin implements SubprocessTransport.
func (p *process) Stdin() (WriteTransport, bool) {
	if p.pipes[0] == nil {
		return nil, false
	}
	return p.pipes[0], true
}

// Stdout implements SubprocessTransport.
func (p *process) Stdout() (ReadTransport, bool) { return p.readPipeTransport(1) }

// Stderr implements SubprocessTransport.
func (p *process) Stderr() (ReadTransport, bool) { return p.readPipeTransport(2) }

func (p *process) readPipeTransport(fd int) (ReadTransport, bool) {
	if p.pipes[fd] == nil {
		return nil, false // not a typed nil
	}
	return p.pipes[fd], true
}

// Kill implements SubprocessTransport.
func (p *process) Kill() error { return p.SendSignal(os.Kill) }

// Terminate implements SubprocessTransport.
func (p *process) Terminate() error { return p.SendSignal(syscall.SIGTERM) }

// SendSignal implements SubprocessTransport. os.Process signals through a
// pidfd where the system has them, and not at all once the child is
// reaped, so a reused id is never signalled.
func (p *process) SendSignal(sig os.Signal) error {
	if _, done := p.ReturnCode(); done {
		return fmt.Errorf("transport: signal %v: %w", sig, os.ErrProcessDone)
	}
	return p.cmd.Process.Signal(sig)
}
