package adapters

import (
	"bytes"
	"sync/atomic"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/queue"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// forwardHook, when set (by tests only), is called with each event as
// the read goroutine begins to forward it to a detached stream.
var forwardHook atomic.Pointer[func(stream.Event)]

// Detached is a transport whose events Detach took from its protocol: the
// rest of the connection as a stream, for a channel consumer or an rx
// pipeline, which Attach can hand back to a protocol.
//
// Multiple goroutines may invoke methods on a Detached simultaneously.
type Detached struct {
	r         *runner
	t         transport.Transport
	q         *queue.Queue
	claimed   chan struct{} // closed by the stream's claim (q's start)
	back      chan struct{} // closed by Attach: no event goes into q any more
	returned  chan struct{} // closed once Attach has handed the events back
	idle      chan struct{} // holds a token while no event is going into q
	poke      chan struct{} // wakes the producer: Attach, StartTLS
	upgrade   atomic.Bool   // StartTLS waits for the read goroutine
	held      []byte        // guarded by the token: Data kept for StartTLS
	rx        atomic.Bool   // claimed by an Observable: no way back
	attaching atomic.Bool   // Attach was called
}

// Detach stops delivering t's events to its protocol and returns them as
// a stream (asyncio's set_protocol, with an rx pipeline for the new
// protocol). It may be called inside a callback, typically DataReceived
// once a header is parsed: the next event, and every one after it, goes
// to the stream, none is lost or repeated. rest is what the stream starts
// with, the bytes of the chunk being handled that come after the header
// (nil for none; Detach copies them). The stream starts with a Made of
// its own, then a Data with rest, then the events in order; its Data is
// owned by the receiver. The transport stays half-open at EOF: the
// consumer closes it (WithHalfClose). PauseWriting and ResumeWriting go
// to the stream too.
//
// Claim the stream (Events, Observable or Attach), or close the
// transport: until then the transport's read goroutine waits for a
// consumer with the next event in hand, as an unclaimed transport reads
// nothing. A Lost that comes first is kept for the claim.
func Detach(t transport.Transport, rest []byte) (*Detached, error) {
	at, ok := t.(sink.Attacher)
	if !ok {
		return nil, ErrNotDetachable
	}
	r, ok := at.Handler().(*runner)
	if !ok {
		return nil, ErrNotDetachable
	}
	d := &Detached{
		r: r, t: t,
		claimed:  make(chan struct{}),
		back:     make(chan struct{}),
		returned: make(chan struct{}),
		idle:     make(chan struct{}, 1),
		poke:     make(chan struct{}, 1),
	}
	d.idle <- struct{}{}
	d.q = queue.New(func() { close(d.claimed) }, t.Abort)
	first := []stream.Event{{Kind: stream.Made}}
	if len(rest) > 0 {
		first = append(first, stream.Event{Kind: stream.Data, Data: bytes.Clone(rest)})
	}
	d.q.Prelude(first...)
	inCallback := r.inCallback()
	if !inCallback {
		r.lock(goid.Get())
	}
	defer func() {
		if !inCallback {
			r.unlock()
		}
	}()
	if !isStream(r.p) || r.handoff != nil || r.lost {
		return nil, ErrNotDetachable
	}
	r.handoff = d
	r.noteBuffered() // the stream's reads go into the transport's buffers
	if b, ok := r.p.(*bufferedCallbacks); ok {
		b.cut = true // a chunk being fed stops here (received)
	}
	r.detached.Store(d)
	r.at.Unloop()   // the stream's producer waits for its consumer: not on a loop
	r.told = false  // the stream was told nothing yet:
	r.deliverFlow() // a pause now is its first PauseWriting (after Made)
	d.releaseIfFreed()
	return d, nil
}

// Events claims the stream for a channel consumer, as a transport's
// Events does.
func (d *Detached) Events() <-chan stream.Event { return d.q.Events() }

// Observable returns the stream as an rxgo Observable, as a transport's
// Observable does. Once it is subscribed, the events cannot go back to a
// protocol (the pipeline's stages hold some): Attach fails.
func (d *Detached) Observable(opts ...rxgo.Option) rxgo.Observable {
	d.rx.Store(true)
	return d.q.Observable(opts...)
}

// Transport returns the transport.
func (d *Detached) Transport() transport.Transport { return d.t }

// forward puts e into the stream, on the transport's read goroutine once
// the stream is claimed (or the transport released); it reports false
// when Attach handed the events back meanwhile (the protocol then takes
// e, after every event that went into the stream).
func (d *Detached) forward(e stream.Event) bool {
	if h := forwardHook.Load(); h != nil {
		(*h)(e)
	}
	for {
		select {
		case <-d.claimed:
		case <-d.r.at.Released(): // closed locally: nobody may claim it
		case <-d.q.Released(): // an Observable's context ended first
		case <-d.back:
		case <-d.poke: // StartTLS, or a stale poke: put says
		}
		d.releaseIfFreed()
		switch d.put(e) {
		case putDone:
			return true
		case putBack:
			<-d.returned
			return false
		}
	}
}

// What put did with an event.
const (
	putDone  = iota // put in the stream, kept for StartTLS, or dropped after a release
	putBack         // not put: Attach has begun, the protocol takes it
	putAgain        // not put yet: wait again (woken by a poke)
)

// put puts e into the stream holding the idle token, which Attach and
// takeBack take to know that nothing goes in meanwhile.
func (d *Detached) put(e stream.Event) int {
	select {
	case <-d.idle:
	case <-d.back:
		return putBack
	}
	defer func() { d.idle <- struct{}{} }()
	switch {
	case e.Kind == stream.Lost:
		d.q.Finish(e) // kept for the claim if there is none yet
		return putDone
	case isClosed(d.back):
		return putBack
	case e.Kind == stream.Data && d.upgrade.Load():
		d.held = append(d.held, e.Data...) // handshake input (takeBack)
		return putDone
	case !isClosed(d.claimed):
		if isClosed(d.r.at.Released()) || isClosed(d.q.Released()) {
			return putDone // released before any claim: dropped, as by a close
		}
		return putAgain
	}
	if e.Kind == stream.Data {
		e.Data = bytes.Clone(e.Data) // the transport lends it; the stream owns it
	}
	if _, woken := d.q.SendData(e, d.poke); woken { // not sent otherwise: released, dropped
		return putAgain
	}
	return putDone
}

// wake pokes a producer waiting in forward, to look at its state again.
func (d *Detached) wake() {
	select {
	case d.poke <- struct{}{}:
	default:
	}
}

// upgrading makes the producer keep the Data it forwards for takeBack,
// instead of waiting for the consumer: StartTLS needs the read goroutine.
func (d *Detached) upgrading() {
	d.upgrade.Store(true)
	d.wake()
}

// takeBack returns what the stream holds that its consumer has not
// taken, in order: the Data still in the channel, then what the producer
// kept since upgrading. It runs on the read goroutine, for StartTLS.
func (d *Detached) takeBack() []byte {
	select {
	case <-d.idle:
	case <-d.back:
		return nil // Attach has begun: p takes what the channel holds
	}
	defer func() { d.idle <- struct{}{} }()
	d.upgrade.Store(false)
	data := append(d.q.TakeBack(), d.held...)
	d.held = nil
	return data
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// releaseIfFreed lets the stream's producer stop waiting for its
// consumer once the transport's consumer was released (a local Close or
// Abort), as the transport's own queue does. After a failure the events
// wait for the consumer.
func (d *Detached) releaseIfFreed() {
	select {
	case <-d.r.at.Released():
		d.q.Release()
	default:
	}
}

// flow queues a flow change (never blocking). The runner's mu is held.
func (d *Detached) flow(paused bool) {
	if paused {
		d.q.Control(stream.Event{Kind: stream.PauseWriting})
	} else {
		d.q.Control(stream.Event{Kind: stream.ResumeWriting})
	}
}

// Attach hands the events back to a protocol, p, from the channel
// consumer's goroutine once it stops reading: the events still in the
// channel are delivered to p first, in order, then the transport's own;
// p gets no ConnectionMade (as asyncio's set_protocol). p is a Protocol
// or a BufferedProtocol (see StreamProtocol): the next read goes into a
// BufferedProtocol's buffer, and what was read before is copied into it
// (asyncio L15). It fails with ErrNotDetachable after Observable, or when
// already handed back, and with ErrNoDataCallback for a p that is neither.
func (d *Detached) Attach(p StreamProtocol) error {
	cb, err := streamCallbacksFor(d.t, p)
	if err != nil {
		return err
	}
	if d.rx.Load() || !d.attaching.CompareAndSwap(false, true) {
		return ErrNotDetachable
	}
	ch := d.q.Events()
	r := d.r
	r.mu.Lock()
	if r.handoff != d {
		r.mu.Unlock()
		return ErrNotDetachable
	}
	r.p = cb
	r.mu.Unlock()
	close(d.back)
	d.wake()
	d.takeOver(ch)
	r.mu.Lock()
	r.handoff = nil
	r.detached.Store(nil)
	r.noteBuffered()
	r.told = false // p was told nothing yet: a pause now is its first
	r.mu.Unlock()
	close(d.returned)
	d.q.Release() // a flow event on its way into ch stops waiting
	r.flowPending.Store(true)
	r.tryFlow()
	return nil
}

// takeOver delivers the events in ch to the protocol until it holds the
// idle token (no event is going in: one being put is taken here first),
// then the rest of ch.
func (d *Detached) takeOver(ch <-chan stream.Event) {
	preluded := d.q.Preluded() // the claim (Attach's Events) made it
	for {
		select {
		case <-d.idle:
			for !isClosed(preluded) { // the prelude's rest still goes in
				select {
				case e, ok := <-ch:
					if ok {
						d.deliver(e)
					}
				case <-preluded:
				}
			}
			for {
				select {
				case e, ok := <-ch:
					if !ok {
						return
					}
					d.deliver(e)
				default:
					return
				}
			}
		case e, ok := <-ch:
			if !ok {
				ch = nil // Lost was in it; the token comes next
				continue
			}
			d.deliver(e)
		}
	}
}

// deliver hands an event taken from the stream to the protocol.
func (d *Detached) deliver(e stream.Event) {
	switch e.Kind {
	case stream.Made, stream.PauseWriting, stream.ResumeWriting:
		return // the protocol learns the write state from the runner
	}
	d.r.lock(goid.Get())
	d.r.dispatch(e)
}
