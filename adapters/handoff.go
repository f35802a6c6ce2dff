package adapters

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// ErrNotDetachable is returned by Detach for a transport that no Protocol
// drives (or one already detached), and by Detached.Attach once its
// events went to an Observable or were handed back.
var ErrNotDetachable = errors.New("adapters: events cannot be handed over: no protocol drives them, or they went to an Observable")

// Detached is a transport whose events Detach took from its protocol: the
// rest of the connection as a stream, for a channel consumer or an rx
// pipeline, which Attach can hand back to a protocol.
//
// Multiple goroutines may invoke methods on a Detached simultaneously.
type Detached struct {
	r         *runner
	t         transport.Transport
	q         *stream.Queue
	opened    chan struct{} // closed once the stream's Made is taken
	freed     chan struct{} // closed once the transport is closing (release)
	free      sync.Once
	sendMu    sync.Mutex  // held while an event goes into q
	back      bool        // guarded by sendMu: handed back
	rx        atomic.Bool // claimed by an Observable: no way back
	attaching atomic.Bool // Attach was called
	rest      []byte      // the first Data, sent after Made
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
func Detach(t transport.Transport, rest []byte) (*Detached, error) {
	at, ok := t.(sink.Attacher)
	if !ok {
		return nil, ErrNotDetachable
	}
	r, ok := at.Handler().(*runner)
	if !ok {
		return nil, ErrNotDetachable
	}
	d := &Detached{r: r, t: t, opened: make(chan struct{}), freed: make(chan struct{})}
	if len(rest) > 0 {
		d.rest = bytes.Clone(rest)
	}
	d.q = stream.NewQueue(transport.DefaultEventBuffer, d.open, t.Abort)
	inCallback := r.inCallback()
	if !inCallback {
		r.lock(goid.Get())
	}
	defer func() {
		if !inCallback {
			r.unlock()
		}
	}()
	if _, ok := r.p.(streamCallbacks); !ok || r.handoff != nil || r.lost {
		return nil, ErrNotDetachable
	}
	r.handoff = d
	r.detached.Store(d)
	r.told = false  // the stream was told nothing yet:
	r.deliverFlow() // a pause now is its first PauseWriting (after Made)
	if t.IsClosing() {
		d.release() // no Wake may come any more
	}
	return d, nil
}

// open sends the stream's Made, and rest, when its consumer claims it.
func (d *Detached) open() {
	go func() {
		if d.q.Send(stream.Event{Kind: stream.Made}) && d.rest != nil {
			d.q.Send(stream.Event{Kind: stream.Data, Data: d.rest})
		}
		close(d.opened)
	}()
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

// forward puts e into the stream; it reports false when the events were
// handed back meanwhile (the protocol then takes e).
func (d *Detached) forward(e stream.Event) bool {
	select {
	case <-d.opened:
	case <-d.freed:
		if !d.q.Claimed() {
			return true // nobody will read it: dropped
		}
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	if d.back {
		return false
	}
	if e.Kind == stream.Data {
		e.Data = bytes.Clone(e.Data) // the transport lends it; the stream owns it
	}
	if e.Kind == stream.Lost {
		d.q.Finish(e)
		return true
	}
	d.q.Send(e)
	return true
}

// release lets the stream's producer stop waiting for its consumer once
// the transport is closing, as the transport's own queue does.
func (d *Detached) release() {
	d.free.Do(func() {
		close(d.freed)
		d.q.Release()
	})
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
// p gets no ConnectionMade (as asyncio's set_protocol). It fails with
// ErrNotDetachable after Observable, or when already handed back.
func (d *Detached) Attach(p Protocol) error {
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
	r.p = streamCallbacks{d.t, p}
	r.mu.Unlock()
	for {
		d.drain(ch, false)
		if d.sendMu.TryLock() {
			break
		}
		d.drain(ch, true) // the transport is putting an event in: take it
	}
	d.drain(ch, false)
	r.mu.Lock()
	r.handoff = nil
	r.detached.Store(nil)
	r.told = false // p was told nothing yet: a pause now is its first
	r.mu.Unlock()
	d.back = true
	d.sendMu.Unlock()
	d.release()
	r.flowPending.Store(true)
	r.tryFlow()
	return nil
}

// drain delivers the events waiting in ch to the protocol (waiting up to
// a millisecond for one when wait is set).
func (d *Detached) drain(ch <-chan stream.Event, wait bool) {
	for {
		var e stream.Event
		var ok bool
		if wait {
			select {
			case e, ok = <-ch:
			case <-time.After(time.Millisecond):
				return
			}
			wait = false
		} else {
			select {
			case e, ok = <-ch:
			default:
				return
			}
		}
		if !ok {
			return
		}
		if e.Kind == stream.Made || e.Kind == stream.PauseWriting || e.Kind == stream.ResumeWriting {
			continue // the protocol learns the write state from the runner
		}
		d.r.lock(goid.Get())
		d.r.dispatch(e)
	}
}
