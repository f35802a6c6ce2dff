package adapters

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// callbacks is one kind of protocol (Protocol, DatagramProtocol) as the
// runner calls it: a bridge from events to its methods.
type callbacks interface {
	// concurrent reports whether events arrive from several goroutines
	// (a subprocess's pipes), so that the runner must identify the
	// delivering goroutine for every callback, not once.
	concurrent() bool
	made()                   // ConnectionMade
	received(e stream.Event) // DataReceived, DatagramReceived, ErrorReceived
	eof() (keep bool)        // EOFReceived
	lost(err error)          // ConnectionLost
	pauseWriting()
	resumeWriting()
}

// runner folds one transport's events into one protocol's callbacks. It
// is the transport's sink.Handler: events arrive on the read goroutine.
//
// mu is held while any callback runs, so no two run at once (CC2); owner
// is the id of the goroutine holding it, so that a Write made inside a
// callback can call PauseWriting before it returns, and a Write from any
// other goroutine leaves it to whoever holds mu next.
type runner struct {
	t       transport.BaseTransport
	at      sink.Attacher
	p       callbacks
	made    sync.WaitGroup // done once ConnectionMade has returned (a channel would cost 96 bytes)
	madeErr error          // ConnectionMade's panic, set before made is done

	mu          sync.Mutex
	owner       atomic.Uint64
	readerID    atomic.Uint64            // the id of the goroutine delivering the events
	multi       bool                     // events come from several goroutines
	flowPending atomic.Bool              // a pause or resume waits for mu
	buffered    atomic.Bool              // p is a BufferedProtocol's, and no stream holds the events (ReadBuffer)
	detached    atomic.Pointer[Detached] // handoff, for Wake
	// wake is made by the first delivery that waits (wakeChan): an idle
	// connection, never paused, holds none.
	wake atomic.Pointer[chan struct{}]

	// Guarded by mu.
	told    bool      // the protocol was last told PauseWriting
	lost    bool      // ConnectionLost was called
	handoff *Detached // the events go to a stream for now (Detach)
}

var _ sink.Handler = (*runner)(nil)

// attach makes the runner for t and p and starts delivering.
func attach(t transport.BaseTransport, p callbacks) (*runner, error) {
	at, ok := t.(sink.Attacher)
	if !ok {
		return nil, ErrNotAdaptable
	}
	r := &runner{t: t, at: at, p: p}
	r.noteBuffered()
	r.made.Add(1)
	if !at.Attach(r) {
		return nil, ErrNotAdaptable
	}
	return r, nil
}

// Event implements sink.Handler.
func (r *runner) Event(e stream.Event) {
	if e.Kind == stream.Made {
		id := goid.Get()
		r.readerID.Store(id)
		r.multi = r.p.concurrent()
		r.lock(id)
		r.connectionMade()
		r.flowPending.Store(true) // writes before Adapt may have paused it
		r.unlock()
		r.made.Done()
		return
	}
	for {
		if !r.lockFor(e) {
			return
		}
		h := r.handoff
		if h == nil {
			r.dispatch(e)
			return
		}
		r.unlock()
		if h.forward(e) {
			return
		}
		// Handed back meanwhile: the protocol takes it.
	}
}

// TryEvent implements sink.Handler: Event, except that where Event
// would wait (a Data held back while reading is paused, an event for a
// detached stream) it delivers nothing and reports false.
func (r *runner) TryEvent(e stream.Event) bool {
	if e.Kind == stream.Made {
		r.Event(e)
		return true
	}
	if r.detached.Load() != nil {
		return false // the stream's producer may wait for its consumer
	}
	switch e.Kind {
	case stream.Data, stream.Datagram, stream.PipeData:
		r.lock(r.deliverer())
		if r.at.ReadBlocked(e.FD) {
			if r.at.ReadDropped(e.FD) {
				r.unlock()
				return true // closed locally: dropped, as Event drops it
			}
			if r.at.ReadPaused(e.FD) {
				r.unlock()
				return false
			}
		}
	default:
		r.lock(r.deliverer())
	}
	if r.handoff != nil {
		r.unlock()
		return false
	}
	r.dispatch(e)
	return true
}

// ReaderMoved implements sink.Handler.
func (r *runner) ReaderMoved(id uint64) { r.readerID.Store(id) }

// lockFor takes mu to deliver e; it reports false, without the lock,
// when a data event must be dropped (see lockForData).
func (r *runner) lockFor(e stream.Event) bool {
	switch e.Kind {
	case stream.Data, stream.Datagram, stream.PipeData:
		return r.lockForData(e.FD)
	}
	r.lock(r.deliverer())
	return true
}

// dispatch calls the callback for e. mu is held; dispatch releases it.
func (r *runner) dispatch(e stream.Event) {
	switch e.Kind {
	case stream.Data, stream.Datagram, stream.PipeData:
		b, _ := r.p.(*bufferedCallbacks)
		r.received(e)
		var left []byte
		if b != nil {
			left, b.left = b.left, nil
		}
		r.unlock()
		if left != nil { // a Detach in BufferUpdated cut the chunk: the rest goes on, to the stream
			r.Event(stream.Event{Kind: e.Kind, FD: e.FD, Data: left})
		}
	case stream.EOF:
		if r.t.IsClosing() { // no EOFReceived after a close (asyncio L10)
			r.unlock()
			return
		}
		keep := r.eofReceived()
		r.unlock()
		if !keep {
			r.at.CloseAfterEOF()
		}
	case stream.Lost:
		r.lost = true
		r.connectionLost(e.Err)
		r.unlock()
	case stream.DatagramError:
		if !r.t.IsClosing() { // like a datagram: nothing after a close
			r.received(e)
		}
		r.unlock()
	default: // PipeLost, Exited
		r.received(e)
		r.unlock()
	}
}

// lockForData takes mu for a DataReceived, holding the data back while
// reading is paused (RD3); it reports false, without the lock, when the
// transport was closed locally meanwhile (no DataReceived after a
// close). After a failure what was read is delivered, then Lost.
func (r *runner) lockForData(fd int) bool {
	var wake chan struct{}
	for {
		r.lock(r.deliverer())
		if !r.at.ReadBlocked(fd) {
			return true // the common case: neither paused nor closing
		}
		if r.at.ReadDropped(fd) {
			r.unlock()
			return false
		}
		if wake == nil { // made, then the state checked again: no Wake is missed
			r.unlock()
			wake = r.wakeChan()
			continue
		}
		if !r.at.ReadPaused(fd) {
			return true // resumed, or failed
		}
		r.unlock()
		<-wake
	}
}

// wakeChan returns the channel Wake signals, making it on first use.
func (r *runner) wakeChan() chan struct{} {
	if w := r.wake.Load(); w != nil {
		return *w
	}
	w := make(chan struct{}, 1)
	if !r.wake.CompareAndSwap(nil, &w) {
		return *r.wake.Load()
	}
	return w
}

// deliverer returns the id of the goroutine delivering an event.
func (r *runner) deliverer() uint64 {
	if r.multi {
		return goid.Get()
	}
	return r.readerID.Load()
}

func (r *runner) lock(id uint64) {
	r.mu.Lock()
	r.owner.Store(id)
}

func (r *runner) unlock() {
	r.owner.Store(0)
	r.mu.Unlock()
	r.tryFlow()
}

// inCallback reports whether the calling goroutine is running a callback.
func (r *runner) inCallback() bool {
	id := r.owner.Load()
	return id != 0 && id == goid.Get()
}

// OnReader implements sink.Handler.
func (r *runner) OnReader() bool {
	id := r.readerID.Load()
	return id != 0 && id == goid.Get()
}

// Upgrading implements sink.Handler: a detached stream's producer lets
// the read goroutine go.
func (r *runner) Upgrading() {
	if d := r.detached.Load(); d != nil {
		d.upgrading()
	}
}

// TakeBack implements sink.Handler: what a detached stream holds that its
// consumer has not taken.
func (r *runner) TakeBack() []byte {
	if d := r.detached.Load(); d != nil {
		return d.takeBack()
	}
	return nil
}

// FlowChanged implements sink.Handler.
func (r *runner) FlowChanged() {
	if r.inCallback() {
		r.deliverFlow()
		return
	}
	r.flowPending.Store(true)
	r.tryFlow()
}

// tryFlow delivers a pending pause or resume if no callback runs; if one
// does, its unlock calls tryFlow again, so nothing is left behind.
func (r *runner) tryFlow() {
	for r.flowPending.Load() && r.mu.TryLock() {
		r.owner.Store(goid.Get())
		r.flowPending.Store(false)
		r.deliverFlow()
		r.owner.Store(0)
		r.mu.Unlock()
	}
}

// deliverFlow tells the protocol the transport's current write state, if
// it differs from what it was last told. mu is held.
func (r *runner) deliverFlow() {
	for !r.lost {
		paused, done := r.at.WriteState()
		if done || paused == r.told {
			return
		}
		r.told = paused
		switch {
		case r.handoff != nil:
			r.handoff.flow(paused)
		case paused:
			r.pauseWriting()
		default:
			r.resumeWriting()
		}
	}
}

// ReadingPaused implements sink.Handler: once PauseReading returns, no
// DataReceived starts until ResumeReading, so a callback running on
// another goroutine is waited for.
func (r *runner) ReadingPaused() {
	if r.inCallback() {
		return // the read goroutine checks again before the next delivery
	}
	r.mu.Lock()
	r.mu.Unlock() //lint:ignore SA2001 a barrier: wait for the running callback to return
	r.tryFlow()
}

// Wake implements sink.Handler. Once the transport's consumer is
// released, a detached stream's producer stops waiting for its consumer.
func (r *runner) Wake() {
	if w := r.wake.Load(); w != nil {
		select {
		case *w <- struct{}{}:
		default:
		}
	}
	if d := r.detached.Load(); d != nil {
		d.releaseIfFreed()
	}
}

// The callbacks, each behind the panic guard.

func (r *runner) connectionMade() {
	defer func() {
		if v := recover(); v != nil {
			r.madeErr = &PanicError{Value: v, Stack: debug.Stack()}
			r.at.Fail(r.madeErr)
		}
	}()
	r.p.made()
}

func (r *runner) received(e stream.Event) {
	defer r.recoverPanic()
	r.p.received(e)
}

func (r *runner) eofReceived() (keep bool) {
	defer r.recoverPanic()
	return r.p.eof()
}

// connectionLost calls the protocol's ConnectionLost; a panic there has
// nothing left to close, so it goes to the transport's error handler
// (transport.WithErrorHandler).
func (r *runner) connectionLost(err error) {
	defer func() {
		if v := recover(); v != nil {
			pe := &PanicError{Value: v, Stack: debug.Stack()}
			r.at.ReportError(fmt.Errorf("adapters: in ConnectionLost: %w", pe))
		}
	}()
	r.p.lost(err)
}

func (r *runner) pauseWriting() {
	defer r.recoverPanic()
	r.p.pauseWriting()
}

func (r *runner) resumeWriting() {
	defer r.recoverPanic()
	r.p.resumeWriting()
}

// recoverPanic turns a panicking callback into the transport's end (ER2).
func (r *runner) recoverPanic() {
	if v := recover(); v != nil {
		r.failWith(v)
	}
}

// failWith ends the transport for a callback's panic value v, and returns
// Lost's error: a *PanicError, or the error of a fatal{} the adapter
// raised itself (ErrEmptyBuffer).
func (r *runner) failWith(v any) error {
	var err error = &PanicError{Value: v, Stack: debug.Stack()}
	if f, ok := v.(fatal); ok {
		err = f.err
	}
	r.at.Fail(err)
	return err
}

// noteBuffered records whether reads go into the protocol's buffers:
// whether p is a BufferedProtocol's callbacks and no detached stream takes
// the events (attach, Detach and Detached.Attach call it, under mu or
// before the transport delivers).
func (r *runner) noteBuffered() {
	_, ok := r.p.(*bufferedCallbacks)
	r.buffered.Store(ok && r.handoff == nil)
}

// ReadBuffer implements sink.Handler: the buffer of a BufferedProtocol's
// GetBuffer(-1) for the next read, or nil for the transport's own (a
// Protocol, or a detached stream). A GetBuffer that panicked or returned
// an empty buffer has failed the transport, and its error is returned.
func (r *runner) ReadBuffer() (buf []byte, err error) {
	if !r.buffered.Load() {
		return nil, nil
	}
	r.lock(r.deliverer())
	defer r.unlock()
	b, ok := r.p.(*bufferedCallbacks)
	if !ok || r.handoff != nil || r.lost {
		return nil, nil
	}
	defer func() {
		if v := recover(); v != nil {
			buf, err = nil, r.failWith(v)
		}
	}()
	return b.readBuffer(), nil
}
