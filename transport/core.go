package transport

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/gate"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/internal/queue"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/stream"
)

// The lifecycle of a transport: open → closing (Close called, flushing)
// → done (descriptor closed). Lost is delivered after done.
type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateDone
)

// socket is what a socket transport runs on.
type socket interface {
	syscall.Conn
	Close() error
	LocalAddr() net.Addr
	RemoteAddr() net.Addr
}

// core is what every socket transport shares: the open → closing → done
// state machine, write flow control with its gate, reading paused or not,
// the event queue, and the delivery of Made and Lost. The stream
// transport (conn) and the datagram endpoint (packetConn) embed it and
// add their reading and writing.
type core struct {
	sk socket
	fd *sock.FD
	// What core keeps of the options: not the whole resolved config,
	// which would cost every connection some 250 bytes.
	onError   func(error) // WithErrorHandler's (ReportError)
	readLimit int         // WithReadLimit's, resolved
	halfClose bool        // WithHalfClose, or the adapter's claim
	noRead    atomic.Bool // the read goroutine must not read: paused or closing
	q         *queue.Queue
	gate      *gate.Gate
	info      extraInfo
	onDone    func() // set by a Server before the transport is handed out
	onLost    func() // likewise: called once Lost is delivered
	// wakeC holds one pending wake-up for the read goroutine; the read
	// goroutine makes it (ensureWakeLocked), so a transport on a loop has
	// none. Set under mu; the read goroutine may read it without.
	wakeC   chan struct{}
	dropBuf func()         // empties the write buffer; mu is held
	onClose func(now bool) // finishes close; nil: shut at once when now
	// startLoop puts a claimed transport on a poller loop (conn_loop.go);
	// false, or nil, means its own read goroutine reads it.
	startLoop func() bool
	loopH     sink.Handler // the adapter, for a transport put on a loop

	mu       sync.Mutex
	doneC    chan struct{} // Done's: made by its first caller (doneLocked)
	lostErr  error         // Lost's error
	deadErr  error         // what writes and Drain return once not open
	handler  sink.Handler
	flow     flow.State
	lc       *poll.Conn     // the poller loop reading it, if one does
	loopLC   *poll.Conn     // the loop's own: lc, kept after it left
	loopGID  uint64         // the loop's: the goroutine the adapter was last told of
	heldRead []byte         // read on the loop, not delivered: see Unloop
	pumps    sync.WaitGroup // a channel consumer's deliveries off the loop (conn_pump.go)
	pumping  atomic.Bool    // a pump holds a chunk: the loop's reading stays off
	timer    *time.Timer    // bounds a close (TLS: the close_notify wait)
	stats    counters

	// The flags, together: padding between them would cost every
	// connection 8 bytes a flag.
	ended        bool // the descriptor is closed: Done is closed
	state        connState
	flushing     bool // the flush goroutine owns the write side
	readPaused   bool
	eofRead      bool
	switching    bool // StartTLS waits for the read goroutine
	loopFlushing bool // the loop flushes the buffer (OnWritable)
	loopFull     bool // the kernel said full, and no OnWritable since
	heldEOF      bool // likewise for heldRead, for EOF
	loopMadeIn   bool // the loop delivered Made: reading may be turned on
	concluding   bool // the channel consumer holds EOF, and Lost follows it (conclude)
	lostSent     bool // Conclude delivered Lost (nil): a later error is only reported
	polled       bool // its engine is the poller's (usePoller), set by init
	pooled       bool // WithPooledData: a consumer's Data is a pooled buffer
}

// init sets up the core for sk: read is the read goroutine's work between
// Made and Lost (see run), dropBuf empties the write buffer, and newFD is
// sock.New or sock.NewDatagram.
func (c *core) init(sk socket, cfg resolved, read func(sink.Handler), dropBuf func(), newFD func(syscall.Conn, func() bool) (*sock.FD, error)) error {
	c.sk, c.dropBuf = sk, dropBuf
	c.onError, c.readLimit, c.halfClose = cfg.onError, cfg.readLimit, cfg.halfClose
	c.polled, c.pooled = usePoller(), cfg.pooled
	c.gate = gate.New()
	c.info = newExtraInfo(sk)
	c.flow = flow.New(cfg.limits)
	c.q = queue.New(func() {
		if c.startLoop == nil || !c.startLoop() {
			go c.run(read)
		}
	}, c.Abort)
	fd, err := newFD(sk, c.noRead.Load)
	c.fd = fd
	return err
}

// Events implements BaseTransport.
func (c *core) Events() <-chan stream.Event { return c.q.Events() }

// Observable implements BaseTransport.
func (c *core) Observable(opts ...rxgo.Option) rxgo.Observable { return c.q.Observable(opts...) }

// attach claims the events for h, running prepare (c.mu held) first.
func (c *core) attach(h sink.Handler, prepare func()) bool {
	return c.q.Claim(c.handlerSetter(h, prepare))
}

// attachReserved is attach for events reserved with c.q.Reserve.
func (c *core) attachReserved(h sink.Handler, prepare func()) bool {
	return c.q.ClaimReserved(c.handlerSetter(h, prepare))
}

func (c *core) handlerSetter(h sink.Handler, prepare func()) func() {
	return func() {
		c.mu.Lock()
		c.handler = h
		if prepare != nil {
			prepare()
		}
		c.mu.Unlock()
	}
}

// Handler implements sink.Attacher.
func (c *core) Handler() sink.Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handler
}

// ExtraInfo implements BaseTransport.
func (c *core) ExtraInfo(name string) (any, bool) { return c.info.get(name) }

// LocalAddr implements Transport and DatagramTransport.
func (c *core) LocalAddr() net.Addr { return c.info.local }

// RemoteAddr implements Transport and DatagramTransport.
func (c *core) RemoteAddr() net.Addr { return c.info.peer }

// IsClosing implements BaseTransport.
func (c *core) IsClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateOpen || c.lostGoneLocked()
}

// Close implements BaseTransport.
func (c *core) Close() error {
	c.close(true)
	return nil
}

// close starts closing: reading stops, writes are refused, the flush
// goroutine (if any) closes the descriptor once the buffer is empty. A
// local close also ends Drain at once; the close after the peer's EOF
// leaves Drain to end with the flush's outcome (a reset during the flush
// is its error), and keeps every queued event for the consumer.
func (c *core) close(local bool) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		if local { // already closing or done: the consumer is released all the same
			c.q.Release()
			c.signal()
		}
		return
	}
	c.state = stateClosing
	c.deadErr = errClosedLocally
	c.noRead.Store(true)
	now := !c.flushing
	c.mu.Unlock()
	if local {
		c.gate.End(errClosedLocally)
		c.q.Release() // the consumer may stop reading now (before the Wake)
	}
	c.signal()
	switch {
	case c.onClose != nil:
		c.onClose(now)
	case now:
		c.shut(nil)
	}
}

// Abort implements BaseTransport.
func (c *core) Abort() { c.end(nil, true) }

// Done implements BaseTransport: c.doneC, closed by end once the
// descriptor is closed and lostErr is set for good.
func (c *core) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneLocked()
}

// doneLocked is Done, with c.mu held. The channel is made on first use,
// as most transports end without anyone waiting on it.
func (c *core) doneLocked() <-chan struct{} {
	switch {
	case c.doneC != nil:
	case c.ended:
		c.doneC = closedChan
	default:
		c.doneC = make(chan struct{})
	}
	return c.doneC
}

// closedChan is the Done of a transport that ended before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Err implements BaseTransport.
func (c *core) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ended {
		return nil
	}
	return c.lostErr
}

// Fail implements sink.Attacher: it aborts the transport with err as
// Lost's error.
func (c *core) Fail(err error) { c.end(err, true) }

// shut closes the descriptor, dropping buffered writes, with err as Lost's
// error. Only the first call counts.
func (c *core) shut(err error) { c.end(err, false) }

// end is shut; release (a local Abort or Fail) also releases the consumer,
// once the transport is done and before the Wake, so that nothing is
// dropped while the transport still reads, and a detached stream's
// producer, woken, sees the release.
func (c *core) end(err error, release bool) {
	c.mu.Lock()
	if c.state == stateDone {
		c.mu.Unlock()
		if release {
			c.q.Release()
			c.signal()
		}
		return
	}
	if err != nil && c.lostSent { // Lost said nil already (conclude)
		reportError(c.onError, err)
		err = nil
	}
	if c.state == stateOpen || err != nil {
		c.deadErr = errClosedLocally
		if err != nil {
			c.deadErr = &lostError{cause: err}
		}
	}
	c.state, c.lostErr = stateDone, err
	c.noRead.Store(true)
	lc, h := c.lc, c.handler
	c.lc = nil
	if c.timer != nil {
		c.timer.Stop()
	}
	c.dropBuf()
	c.flow.Reset() // silently, as asyncio: no ResumeWriting after an abort
	c.stats.ended()
	deadErr := c.deadErr
	c.mu.Unlock()

	c.gate.End(deadErr)
	if lc != nil {
		c.leaveLoop(lc, h) // before the descriptor's number can be reused
	}
	c.sk.Close()
	c.mu.Lock()
	c.ended = true
	if c.doneC != nil {
		close(c.doneC)
	}
	c.mu.Unlock()
	if release {
		c.q.Release()
	}
	c.signal()
	if c.onDone != nil {
		c.onDone()
	}
}

// run is the read goroutine, started by the first claim of the events:
// it delivers Made, reads (read returns at EOF, on a failure or a local
// close), waits for the descriptor to close (after the write flush), and
// delivers Lost.
func (c *core) run(read func(sink.Handler)) {
	c.mu.Lock()
	h := c.handler
	c.ensureWakeLocked()
	c.mu.Unlock()
	c.deliver(h, stream.Event{Kind: stream.Made})
	read(h)
	c.finish(h)
}

// finish waits for the descriptor to close and delivers Lost.
func (c *core) finish(h sink.Handler) {
	<-c.Done()
	c.mu.Lock()
	lost := stream.Event{Kind: stream.Lost, Err: c.lostErr}
	c.mu.Unlock()
	if h != nil {
		h.Event(lost)
		c.stats.events.Add(1)
	} else {
		c.q.Finish(lost)
	}
	if c.onLost != nil {
		c.onLost()
	}
}

// ensureWakeLocked makes the read goroutine's wake channel; a read
// goroutine calls it before it waits. c.mu is held. A signal before it
// is lost harmlessly: the read goroutine checks the state before waiting.
func (c *core) ensureWakeLocked() {
	if c.wakeC == nil {
		c.wakeC = make(chan struct{}, 1)
	}
}

// signal wakes the read goroutine and a delivery the adapter holds back.
func (c *core) signal() {
	c.mu.Lock()
	h, wake := c.handler, c.wakeC
	c.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
	if h != nil {
		h.Wake()
	}
}

// PauseReading implements ReadTransport.
func (c *core) PauseReading() {
	c.mu.Lock()
	if c.state != stateOpen || c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = true
	c.stats.readPaused()
	c.noRead.Store(true)
	if c.lc != nil {
		c.lc.SetReading(false)
	}
	h := c.handler
	c.mu.Unlock()
	if h != nil {
		h.ReadingPaused()
	} else {
		c.signal() // a chunk waiting for the channel's slot waits for the resume (RD3)
	}
}

// ResumeReading implements ReadTransport.
func (c *core) ResumeReading() {
	c.mu.Lock()
	if c.state != stateOpen || !c.readPaused {
		c.mu.Unlock()
		return
	}
	c.readPaused = false
	c.stats.readResumed()
	c.noRead.Store(false)
	if c.lc != nil && c.loopMadeIn && !c.pumping.Load() { // never before Made
		c.lc.SetReading(true)
	}
	c.mu.Unlock()
	c.signal()
}

// IsReading implements ReadTransport.
func (c *core) IsReading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen && !c.readPaused && !c.eofRead
}

// ReadPaused implements sink.Attacher.
func (c *core) ReadPaused(int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen && c.readPaused
}

// Released implements sink.Attacher.
func (c *core) Released() <-chan struct{} { return c.q.Released() }

// ReadDropped implements sink.Attacher: a local Close or Abort released
// the consumer.
func (c *core) ReadDropped(int) bool {
	select {
	case <-c.q.Released():
		return true
	default:
		return false
	}
}

// Unloop implements sink.Attacher: only stream transports go on a loop
// (conn.Unloop).
func (c *core) Unloop() {}

// ReadBlocked implements sink.Attacher.
func (c *core) ReadBlocked(int) bool { return c.noRead.Load() }

// WriteState implements sink.Attacher.
func (c *core) WriteState() (paused, done bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flow.Paused(), c.state == stateDone
}

// WriteBufferSize implements FlowControl.
func (c *core) WriteBufferSize() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flow.Size()
}

// WriteBufferLimits implements FlowControl.
func (c *core) WriteBufferLimits() (high, low int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.flow.Limits()
	return l.High, l.Low
}

// SetWriteBufferLimits implements FlowControl.
func (c *core) SetWriteBufferLimits(high, low int) error {
	l, err := flow.Resolve(high, low)
	if err != nil {
		return invalidLimits(err)
	}
	c.mu.Lock()
	tr := c.flow.SetLimits(l)
	c.flowLocked(tr)
	h := c.handler
	c.mu.Unlock()
	c.afterFlow(h, tr)
	return nil
}

// Writable implements FlowControl.
func (c *core) Writable() <-chan struct{} { return c.gate.C() }

// Drain implements FlowControl.
func (c *core) Drain(ctx context.Context) error {
	c.mu.Lock()
	gone := c.lostGoneLocked()
	c.mu.Unlock()
	if gone {
		return errClosedLocally
	}
	return c.gate.Wait(ctx)
}

// flowLocked applies a pause or resume to the gate and, in channel mode,
// queues its event (never blocking). c.mu is held.
func (c *core) flowLocked(tr flow.Transition) {
	c.stats.flowed(tr, c.flow.Size())
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
func (c *core) afterFlow(h sink.Handler, tr flow.Transition) {
	if h != nil && tr != flow.Unchanged {
		h.FlowChanged()
	}
}

// waitReadable waits while reading is paused; it reports false once the
// transport is closing, and true when StartTLS needs the read goroutine.
func (c *core) waitReadable() bool {
	if !c.noRead.Load() {
		return true // neither paused nor closing
	}
	for {
		c.mu.Lock()
		st, paused, switching := c.state, c.readPaused, c.switching
		c.ensureWakeLocked()
		wake := c.wakeC
		c.mu.Unlock()
		switch {
		case st != stateOpen:
			return false
		case !paused || switching:
			return true
		}
		<-wake
	}
}

// deliver hands e to the adapter, or sends it on the channel; it reports
// false when the channel consumer was released first.
func (c *core) deliver(h sink.Handler, e stream.Event) bool {
	if h == nil {
		return c.q.Send(e) // the queue counts what it delivers
	}
	h.Event(e)
	c.stats.events.Add(1)
	return true
}

// Stats returns a snapshot of the transport's counters.
func (c *core) Stats() Stats {
	c.mu.Lock()
	s := c.stats.snapshot()
	c.mu.Unlock()
	s.Events += c.q.Delivered()
	return s
}

// readFailed ends the transport after a read error, unless the error only
// reflects a local close.
func (c *core) readFailed(err error) {
	c.mu.Lock()
	local := c.state != stateOpen
	c.mu.Unlock()
	if local && errors.Is(err, net.ErrClosed) {
		return
	}
	c.shut(c.opError("read", err))
}

// opError wraps a raw error from the descriptor as net.Conn would (as
// os.File would for a pipe).
func (c *core) opError(op string, err error) error {
	var errno syscall.Errno
	if c.info.pipe != nil && errors.As(err, &errno) {
		return &os.PathError{Op: op, Path: c.info.pipe.Name(), Err: errno}
	}
	if errors.As(err, &errno) && !isOpError(err) {
		err = os.NewSyscallError(op, errno)
	}
	if isOpError(err) {
		return err
	}
	oe := &net.OpError{Op: op, Source: c.info.local, Addr: c.info.peer, Err: err}
	if c.info.local != nil {
		oe.Net = c.info.local.Network()
	}
	return oe
}

func isOpError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}
