//go:build unix

package transport

import (
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// pipeSink folds one pipe's events into its subprocess transport's: Data
// becomes PipeData, Lost becomes PipeLost (Made and EOF have no
// counterpart), and the stdin pipe's flow changes become the subprocess
// transport's PauseWriting and ResumeWriting. It is the pipe's
// sink.Handler, called on the pipe's loop (TryEvent) or its read
// goroutine (Event).
type pipeSink struct {
	p  *process
	fd int
	c  *conn
}

var (
	_ sink.Handler = (*pipeSink)(nil)
	_ loopSharer   = (*pipeSink)(nil)
)

// readCap is the pipe's read size: the adapter borrows whole reads, a
// channel consumer owns copies and gets the read limit's share.
func (s *pipeSink) readCap() int {
	if s.p.sink() != nil {
		return sock.MaxRead
	}
	return s.p.readCap
}

// Event implements sink.Handler.
func (s *pipeSink) Event(e stream.Event) {
	switch e.Kind {
	case stream.Data:
		s.data(e.Data)
	case stream.Lost:
		<-s.p.made // stdin's pipe starts before Made
		s.p.deliver(s.p.sink(), s.lost(e.Err))
		s.p.pipesUp.Done()
	}
}

// TryEvent implements sink.Handler, for a pipe on a loop: the adapter's
// TryEvent takes PipeData and PipeLost, or refuses them (reading paused
// meanwhile), and the pipe holds the event for a goroutine of its own.
// A channel consumer's PipeData goes into the slot, or to a pump while
// the slot is full or reading is paused (conn_pump.go); its PipeLost,
// and one that comes before Made, wait on a goroutine.
func (s *pipeSink) TryEvent(e stream.Event) bool {
	switch e.Kind {
	case stream.Data:
		return s.tryData(e.Data)
	case stream.Lost:
		return s.tryLost(e.Err)
	}
	return true
}

// tryData is TryEvent's PipeData.
func (s *pipeSink) tryData(data []byte) bool {
	e := stream.Event{Kind: stream.PipeData, FD: s.fd, Data: data}
	if h := s.p.sink(); h != nil {
		return s.p.tryDeliver(h, e)
	}
	e = s.c.owned(e)
	if s.c.noRead.Load() || !s.p.q.TrySend(e) {
		s.c.startPump(e, s.p.q) // RD3, or a dropped chunk after a close: the pump decides
	}
	return true
}

// tryLost is TryEvent's PipeLost.
func (s *pipeSink) tryLost(err error) bool {
	select {
	case <-s.p.made:
	default:
		return false // stdin's pipe, lost before Made: Event waits for it
	}
	h := s.p.sink()
	if h == nil || !s.p.tryDeliver(h, s.lost(err)) {
		return false
	}
	s.p.pipesUp.Done()
	return true
}

// lost is the pipe's PipeLost.
func (s *pipeSink) lost(err error) stream.Event {
	return stream.Event{Kind: stream.PipeLost, FD: s.fd, Err: err}
}

// loopNear implements loopSharer: the process's pipes share the loop of
// the first put on one.
func (s *pipeSink) loopNear() *poll.Conn { return s.p.loop.Load() }

// onLoop implements loopSharer.
func (s *pipeSink) onLoop(lc *poll.Conn) { s.p.loop.CompareAndSwap(nil, lc) }

// ReadBuffer implements sink.Handler: a subprocess's pipes read into
// their own buffers (SubprocessProtocol has no buffered form).
func (s *pipeSink) ReadBuffer() ([]byte, error) { return nil, nil }

// ReaderMoved implements sink.Handler: a pipe's reader never moves.
func (s *pipeSink) ReaderMoved(uint64) {}

// data passes on data read from the pipe: borrowed to the adapter (which
// holds it back while the pipe is paused), copied for a channel consumer
// (held back here, and dropped once the pipe is closing, as a socket's).
func (s *pipeSink) data(data []byte) {
	e := stream.Event{Kind: stream.PipeData, FD: s.fd, Data: data}
	if h := s.p.sink(); h != nil {
		s.p.deliver(h, e)
		return
	}
	e = s.c.owned(e)
	if !s.c.waitReadable() {
		e.Release()
		return
	}
	s.p.deliver(nil, e)
}

// FlowChanged implements sink.Handler: only the stdin pipe writes.
func (s *pipeSink) FlowChanged() {
	if h := s.p.sink(); h != nil {
		h.FlowChanged()
		return
	}
	s.p.queueFlow()
}

// ReadingPaused implements sink.Handler.
func (s *pipeSink) ReadingPaused() {
	if h := s.p.sink(); h != nil {
		h.ReadingPaused()
	}
}

// Wake implements sink.Handler.
func (s *pipeSink) Wake() {
	if h := s.p.sink(); h != nil {
		h.Wake()
	}
}

// OnReader implements sink.Handler: a pipe cannot start TLS.
func (s *pipeSink) OnReader() bool { return false }

// Upgrading implements sink.Handler: a pipe cannot start TLS.
func (s *pipeSink) Upgrading() {}

// TakeBack implements sink.Handler: a pipe cannot start TLS.
func (s *pipeSink) TakeBack() []byte { return nil }

// queueFlow queues PauseWriting or ResumeWriting when the stdin pipe's
// state differs from the last one queued (they alternate).
func (p *process) queueFlow() {
	p.mu.Lock()
	defer p.mu.Unlock()
	paused, done := p.pipes[0].WriteState()
	if done || paused == p.told {
		return
	}
	p.told = paused
	kind := stream.ResumeWriting
	if paused {
		kind = stream.PauseWriting
	}
	p.q.Control(stream.Event{Kind: kind})
}

// The subprocess transport as the adapter's sink.Attacher.

// Attach implements sink.Attacher.
func (p *process) Attach(h sink.Handler) bool {
	return p.q.Claim(func() {
		p.mu.Lock()
		p.handler = h
		p.mu.Unlock()
	})
}

// Handler implements sink.Attacher.
func (p *process) Handler() sink.Handler { return p.sink() }

// Fail implements sink.Attacher: it aborts the transport, with err as
// Lost's error.
func (p *process) Fail(err error) {
	p.mu.Lock()
	if p.lostErr == nil && !p.final {
		p.lostErr = err
	}
	p.mu.Unlock()
	p.abort()
}

// CloseAfterEOF implements sink.Attacher: a subprocess transport has no
// EOF of its own.
func (p *process) CloseAfterEOF() {}

// WriteState implements sink.Attacher: the stdin pipe's.
func (p *process) WriteState() (paused, done bool) {
	if p.pipes[0] == nil {
		return false, true
	}
	return p.pipes[0].WriteState()
}

// ReadPaused implements sink.Attacher: the pipe's of fd.
func (p *process) ReadPaused(fd int) bool {
	if c := p.readPipe(fd); c != nil {
		return c.ReadPaused(fd)
	}
	return false
}

// Released implements sink.Attacher.
func (p *process) Released() <-chan struct{} { return p.q.Released() }

// ReadDropped implements sink.Attacher: the pipe's of fd (Close and
// Abort close every pipe locally).
func (p *process) ReadDropped(fd int) bool {
	if c := p.readPipe(fd); c != nil {
		return c.ReadDropped(fd)
	}
	return true
}

// ReadBlocked implements sink.Attacher: the pipe's of fd.
func (p *process) ReadBlocked(fd int) bool {
	if c := p.readPipe(fd); c != nil {
		return c.ReadBlocked(fd)
	}
	return false
}

func (p *process) readPipe(fd int) *conn {
	if fd == 1 || fd == 2 {
		return p.pipes[fd]
	}
	return nil
}
