package transport

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/gate"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/internal/writebuf"
	"github.com/rxnet/rxnet/stream"
)

// streamConn is what a stream transport runs on: *net.TCPConn or
// *net.UnixConn.
type streamConn interface {
	net.Conn
	syscall.Conn
	CloseWrite() error
}

// The lifecycle of a conn: open → closing (Close called, flushing) → done
// (descriptor closed). Lost is delivered after done.
type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateDone
)

// conn is the stream transport for TCP and Unix sockets.
type conn struct {
	nc      streamConn
	fd      *sock.FD
	cfg     resolved
	q       *stream.Queue
	gate    *gate.Gate
	info    extraInfo
	onDone  func()        // set by a Server before the transport is handed out
	done    chan struct{} // closed once the descriptor is closed
	wake    chan struct{} // one pending wake-up for the read goroutine
	noRead  atomic.Bool   // the read goroutine must not read: paused or closing
	readCap int           // bytes per read

	mu         sync.Mutex
	state      connState
	lostErr    error // Lost's error
	deadErr    error // what writes and Drain return once not open
	handler    sink.Handler
	buf        writebuf.Buffer
	flow       flow.State
	flushing   bool // the flush goroutine owns the write side
	eofWritten bool
	readPaused bool
	eofRead    bool
	views      [][]byte // the flush goroutine's scratch
}

var (
	_ Transport     = (*conn)(nil)
	_ sink.Attacher = (*conn)(nil)
)

// newConn wraps an established connection. It does not read until its
// events are claimed.
func newConn(nc streamConn, cfg resolved) (*conn, error) {
	c := &conn{
		nc:      nc,
		cfg:     cfg,
		gate:    gate.New(),
		info:    newExtraInfo(nc),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		flow:    flow.New(cfg.limits),
		readCap: cfg.readSize,
	}
	c.q = stream.NewQueue(cfg.eventBuffer, c.start, c.Abort)
	fd, err := sock.New(nc, c.noRead.Load)
	if err != nil {
		return nil, err
	}
	c.fd = fd
	return c, nil
}

func (c *conn) start() { go c.run() }

// Events implements BaseTransport.
func (c *conn) Events() <-chan stream.Event { return c.q.Events() }

// Observable implements BaseTransport.
func (c *conn) Observable(opts ...rxgo.Option) rxgo.Observable { return c.q.Observable(opts...) }

// Attach implements sink.Attacher.
func (c *conn) Attach(h sink.Handler) bool {
	return c.q.Claim(func() {
		c.mu.Lock()
		c.handler = h
		c.cfg.halfClose = true // the adapter closes when EOFReceived says so
		c.readCap = min(c.cfg.readLimit, sock.MaxRead)
		c.mu.Unlock()
	})
}

// ExtraInfo implements BaseTransport.
func (c *conn) ExtraInfo(name string) (any, bool) { return c.info.get(name) }

// IsClosing implements BaseTransport.
func (c *conn) IsClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateOpen
}

// Close implements BaseTransport.
func (c *conn) Close() error {
	c.close(true)
	c.q.Release() // the consumer may stop reading now
	return nil
}

// close starts closing: reading stops, writes are refused, the flush
// goroutine (if any) closes the descriptor once the buffer is empty. A
// local close also ends Drain at once; the close after the peer's EOF
// leaves Drain to end with the flush's outcome (a reset during the flush
// is its error), and keeps every queued event for the consumer.
func (c *conn) close(local bool) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.deadErr = errClosedLocally
	c.noRead.Store(true)
	now := !c.flushing
	c.mu.Unlock()
	if local {
		c.gate.End(errClosedLocally)
	}
	c.signal()
	if now {
		c.shut(nil)
	}
}

// Abort implements WriteTransport.
func (c *conn) Abort() {
	c.shut(nil)
	c.q.Release()
}

// CloseAfterEOF implements sink.Attacher.
func (c *conn) CloseAfterEOF() { c.close(false) }

// Fail implements sink.Attacher: it aborts the transport with err as
// Lost's error.
func (c *conn) Fail(err error) {
	c.shut(err)
	c.q.Release()
}

// shut closes the descriptor, dropping buffered writes, with err as Lost's
// error. Only the first call counts.
func (c *conn) shut(err error) {
	c.mu.Lock()
	if c.state == stateDone {
		c.mu.Unlock()
		return
	}
	if c.state == stateOpen || err != nil {
		c.deadErr = errClosedLocally
		if err != nil {
			c.deadErr = &lostError{cause: err}
		}
	}
	c.state, c.lostErr = stateDone, err
	c.noRead.Store(true)
	c.buf.Reset()
	c.flow.Reset() // silently, as asyncio: no ResumeWriting after an abort
	deadErr := c.deadErr
	c.mu.Unlock()

	c.gate.End(deadErr)
	c.nc.Close()
	close(c.done)
	c.signal()
	if c.onDone != nil {
		c.onDone()
	}
}

// signal wakes the read goroutine and a delivery the adapter holds back.
func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
	c.mu.Lock()
	h := c.handler
	c.mu.Unlock()
	if h != nil {
		h.Wake()
	}
}

// PauseReading implements ReadTransport.
func (c *conn) PauseReading() {
	c.mu.Lock()
	if c.state != stateOpen || c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = true
	c.noRead.Store(true)
	h := c.handler
	c.mu.Unlock()
	if h != nil {
		h.ReadingPaused()
	}
}

// ResumeReading implements ReadTransport.
func (c *conn) ResumeReading() {
	c.mu.Lock()
	if c.state != stateOpen || !c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = false
	c.noRead.Store(false)
	c.mu.Unlock()
	c.signal()
}

// IsReading implements ReadTransport.
func (c *conn) IsReading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen && !c.readPaused && !c.eofRead
}

// ReadPaused implements sink.Attacher.
func (c *conn) ReadPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen && c.readPaused
}

// ReadBlocked implements sink.Attacher.
func (c *conn) ReadBlocked() bool { return c.noRead.Load() }

// WriteState implements sink.Attacher.
func (c *conn) WriteState() (paused, done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flow.Paused(), c.state == stateDone
}

// WriteBufferSize implements WriteTransport.
func (c *conn) WriteBufferSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flow.Size()
}

// WriteBufferLimits implements WriteTransport.
func (c *conn) WriteBufferLimits() (high, low int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.flow.Limits()
	return l.High, l.Low
}

// SetWriteBufferLimits implements WriteTransport.
func (c *conn) SetWriteBufferLimits(high, low int) error {
	l, err := flow.Resolve(high, low)
	if err != nil {
		return err
	}
	c.mu.Lock()
	tr := c.flow.SetLimits(l)
	c.flowLocked(tr)
	h := c.handler
	c.mu.Unlock()
	c.afterFlow(h, tr)
	return nil
}

// Writable implements WriteTransport.
func (c *conn) Writable() <-chan struct{} { return c.gate.C() }

// Drain implements WriteTransport.
func (c *conn) Drain(ctx context.Context) error { return c.gate.Wait(ctx) }

// flowLocked applies a pause or resume to the gate and, in channel mode,
// queues its event (never blocking). c.mu is held.
func (c *conn) flowLocked(tr flow.Transition) {
	switch tr {
	case flow.Paused:
		c.gate.Shut()
		if c.handler == nil {
			c.q.Control(stream.Event{Kind: stream.PauseWriting})
		}
	case flow.Resumed:
		c.gate.Open()
		if c.handler == nil {
			c.q.Control(stream.Event{Kind: stream.ResumeWriting})
		}
	}
}

// afterFlow tells the adapter about a pause or resume; no lock is held.
func (c *conn) afterFlow(h sink.Handler, tr flow.Transition) {
	if h != nil && tr != flow.Unchanged {
		h.FlowChanged()
	}
}
