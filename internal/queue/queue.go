package queue

import (
	"sync"
	"sync/atomic"

	"github.com/rxnet/rxnet/stream"
)

// Who holds a Queue's single claim.
const (
	claimNone int32 = iota
	claimChannel
	claimObservable
	claimOther
	claimReserved
)

// Queue is the single-consumer event channel a transport delivers its
// events through. Its producer (a transport) calls Send, Control,
// Release, Conclude and Finish; exactly one consumer claims it, through
// Events, Observable or Claim, and the first claim starts the producer.
//
// The channel has one slot. A send into a full slot completes exactly
// when the consumer takes the event in it, which is the only receive
// signal a Go channel gives: every handshake below is built on it, none
// on a duration. The queue holds at most the event in the slot, the one
// event its producer is sending, two pending flow-control events and a
// prelude, so a consumer that stops consuming stops the producer instead
// of growing memory.
//
// Multiple goroutines may invoke methods on a Queue simultaneously, with
// one producer and one consumer.
type Queue struct {
	ch      chan stream.Event // the consumer's, one slot, made by its claim
	start   func()
	abort   func()
	claim   atomic.Int32
	cut     atomic.Bool  // an event was dropped after Release: every later one is too (no gap)
	sent    atomic.Int64 // events handed to the consumer (Delivered)
	once    sync.Once
	freed   atomic.Pointer[chan struct{}] // closed by Release; made by its first waiter (freedC)
	freeMu  sync.Once
	prelude []stream.Event // what the claim delivers first (Prelude)

	mu        sync.Mutex
	pending   []stream.Event // events waiting beside the slot, in order: the prelude's rest, then control events
	controls  int            // how many of pending are control events (the last ones, at most two)
	first     int            // how many of pending are the prelude's (the first ones)
	preluded  chan struct{}  // closed once the prelude is in; nil without a rest
	live      bool           // control events may go in: Made is in, and no EOF is being concluded
	helping   bool
	helpStop  chan struct{} // closed to stop the helper's wait for room (stopHelperLocked); made with each helper
	done      bool          // Finish or Conclude has begun: Control drops its events
	helper    sync.WaitGroup
	ended     bool          // Finish came before the claim: the claim delivers lost
	lost      *stream.Event // set with ended
	concluded bool          // Conclude delivered Lost and closed the channel
}

// New returns a queue. start is called once, by the first claim; abort
// is called when an Observable subscriber's context ends before Lost was
// delivered. Either may be nil.
func New(start, abort func()) *Queue {
	return &Queue{start: start, abort: abort}
}

// Prelude sets the events the claim delivers before any the producer
// sends (a stream handed over mid-way starts with its own Made, say).
// Call it before the queue can be claimed.
func (q *Queue) Prelude(first ...stream.Event) { q.prelude = first }

// Claimed reports whether a consumer claimed the queue (or reserved it).
func (q *Queue) Claimed() bool { return q.claim.Load() != claimNone }

// Delivered returns the number of events handed to the consumer (put in
// its channel), not counting those taken back (a local close's drop).
func (q *Queue) Delivered() int64 { return q.sent.Load() }

// Events claims the queue for a channel consumer and returns its channel.
// Like context.Context.Done, every call returns the same channel, so it
// may be called in a select loop. Once an Observable or another consumer
// has claimed the queue, Events returns a closed channel holding a single
// Lost event whose Err is ErrAlreadySubscribed.
func (q *Queue) Events() <-chan stream.Event {
	if !q.claim.CompareAndSwap(claimNone, claimChannel) && q.claim.Load() != claimChannel {
		ch := make(chan stream.Event, 1)
		ch <- stream.Event{Kind: stream.Lost, Err: stream.ErrAlreadySubscribed}
		close(ch)
		return ch
	}
	q.startOnce(true)
	return q.ch
}

// Claim claims the queue for a consumer that does not read the channel
// (the Protocol adapter). It reports whether the claim succeeded; when it
// did, prepare (if not nil) runs before the producer starts.
func (q *Queue) Claim(prepare func()) bool {
	return q.claimOther(claimNone, prepare)
}

// Reserve claims the queue for a consumer that will take it later with
// ClaimReserved, without starting the producer: until then Events,
// Observable and Claim fail as for any claimed queue. It reports false
// when the queue is already claimed.
func (q *Queue) Reserve() bool {
	return q.claim.CompareAndSwap(claimNone, claimReserved)
}

// ClaimReserved is Claim for the consumer that reserved the queue. It
// reports false unless the queue is reserved and not yet claimed.
func (q *Queue) ClaimReserved(prepare func()) bool {
	return q.claimOther(claimReserved, prepare)
}

func (q *Queue) claimOther(from int32, prepare func()) bool {
	if !q.claim.CompareAndSwap(from, claimOther) {
		return false
	}
	if prepare != nil {
		prepare()
	}
	q.startOnce(false)
	return true
}

// startOnce makes the channel (a consumer without one, the adapter, costs
// none), puts the prelude's first event in it, leaves the rest (and a
// Lost that came first) to the helper, and starts the producer.
func (q *Queue) startOnce(channel bool) {
	q.once.Do(func() {
		if channel {
			q.mu.Lock()
			q.openLocked()
			q.mu.Unlock()
		}
		if q.start != nil {
			q.start()
		}
	})
}

// openLocked makes the channel. A stream that ended before its claim is
// complete: its channel holds all of it, and no producer is left. Else
// the slot takes the prelude's first event and the helper the rest, in
// order before anything the producer sends. q.mu is held.
func (q *Queue) openLocked() {
	if q.ended {
		q.ch = make(chan stream.Event, len(q.prelude)+1)
		for _, e := range append(q.prelude, *q.lost) {
			q.ch <- e
		}
		q.sent.Add(int64(len(q.prelude) + 1))
		close(q.ch)
		return
	}
	q.ch = make(chan stream.Event, 1)
	if len(q.prelude) == 0 {
		return
	}
	q.ch <- q.prelude[0]
	q.sent.Add(1)
	q.live = true // the prelude's Made is in: control events follow it
	if rest := q.prelude[1:]; len(rest) > 0 {
		q.pending = append(append([]stream.Event(nil), rest...), q.pending...)
		q.first, q.preluded = len(rest), make(chan struct{})
		q.helpLocked()
	}
}

// Preluded returns a channel closed once the prelude is in the channel
// (at once without a prelude past its first event).
func (q *Queue) Preluded() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.preluded == nil {
		return closedChan
	}
	return q.preluded
}

// Send delivers e, waiting for room; once Release has been called it no
// longer waits, and reports false when there was no room.
//
// Events go into the channel in the order they are sent: Made first, so
// control events wait beside the channel until Made is in. EOF makes
// them wait again: after the peer's EOF they follow it only with
// Reopen (a half-closed transport), so that nothing but Conclude's Lost
// can come between EOF and the close it starts.
func (q *Queue) Send(e stream.Event) bool {
	if e.Kind == stream.EOF {
		q.hold()
	}
	if !q.send(e) {
		return false
	}
	if e.Kind == stream.Made {
		q.Reopen()
	}
	return true
}

// SendData is Send for a Data event that wake may interrupt: it reports
// sent, or woken when a value arrived on wake first (consumed: the
// producer re-checks why it was woken), or neither after Release.
func (q *Queue) SendData(e stream.Event, wake <-chan struct{}) (sent, woken bool) {
	if q.cut.Load() {
		return false, false
	}
	if !q.afterPrelude(wake) {
		return false, !isClosed(q.freedC())
	}
	select { // a wake-up that came first wins over room
	case <-wake:
		return false, true
	default:
	}
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true, false
	case <-wake:
		return false, true
	case <-q.freedC():
		q.cut.Store(true)
		return false, false
	}
}

// TakeBack removes the Data event a channel consumer has not received
// yet and returns its bytes; any other event stays queued. The producer
// calls it, between sends. An Observable's forwarder is its channel
// consumer: what it took is its pipeline's.
func (q *Queue) TakeBack() []byte {
	q.mu.Lock()
	channel, live := q.ch != nil, q.live // a claim may be setting ch
	q.live = false
	q.stopHelperLocked()
	q.mu.Unlock()
	if !channel {
		return nil
	}
	q.helper.Wait() // no control event is on its way in
	var data []byte
	select {
	case e := <-q.ch:
		if e.Kind == stream.Data {
			q.sent.Add(-1)
			data = e.Data
		} else {
			q.ch <- e // the slot is free and nobody else sends: at once
		}
	default:
	}
	if live {
		q.Reopen()
	}
	return data
}

// hold makes control events wait beside the channel until Reopen, and
// waits for one already on its way.
func (q *Queue) hold() {
	q.mu.Lock()
	q.live = false
	q.stopHelperLocked()
	q.mu.Unlock()
	q.helper.Wait()
}

// stopHelperLocked makes a helper waiting for room to put a control event
// in give up, leaving it pending, so that holding the control events
// never waits for the consumer (which may be the one holding them: a
// channel consumer's StartTLS takes back what it has not received). The
// next Reopen or Control starts a new helper. q.mu is held.
func (q *Queue) stopHelperLocked() {
	if q.helpStop != nil {
		close(q.helpStop)
		q.helpStop = nil
	}
}

// Reopen lets control events go into the channel again, after Made (Send
// calls it) or after an EOF the transport stays half-open for.
func (q *Queue) Reopen() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.live = true
	q.helpLocked()
}

// Control delivers a PauseWriting or ResumeWriting event without ever
// blocking. When the slot is full the event waits, and a consecutive
// pause and resume that are both still waiting cancel out (the consumer
// sees the same alternation, ending in the same state).
func (q *Queue) Control(e stream.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done || q.cut.Load() {
		return
	}
	if q.live && q.ch != nil && len(q.pending) == 0 && !q.helping && q.trySend(e) {
		return
	}
	if q.controls >= 2 { // they alternate: the last waiting is e's opposite
		q.pending = q.pending[:len(q.pending)-1]
		q.controls--
	} else {
		q.pending = append(q.pending, e)
		q.controls++
	}
	q.helpLocked()
}

// helpLocked starts the helper when events wait and may go in. q.mu is
// held.
func (q *Queue) helpLocked() {
	if len(q.pending) == 0 || q.helping || q.ch == nil || (!q.live && q.first == 0) {
		return
	}
	q.helping = true
	q.helpStop = make(chan struct{})
	q.helper.Add(1)
	go q.help(q.helpStop)
}

// help delivers the pending events in order, then exits: the prelude's
// rest always, control events while live, until stop is closed.
func (q *Queue) help(stop chan struct{}) {
	defer q.helper.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 || (!q.live && q.first == 0) {
			q.helping = false
			q.mu.Unlock()
			return
		}
		e, until := q.pending[0], stop
		if q.first > 0 {
			until = nil // the prelude's rest goes in, held or not
		}
		q.mu.Unlock()
		sent, stopped := q.sendUntil(e, until)
		if stopped { // held: e stays pending for the next helper
			q.mu.Lock()
			q.helping = false
			q.mu.Unlock()
			return
		}
		if !sent { // released: dropping any later one keeps the alternation
			q.dropPending()
			return
		}
		q.mu.Lock()
		q.pending = q.pending[1:]
		switch {
		case q.first > 0:
			if q.first--; q.first == 0 {
				close(q.preluded)
			}
		default:
			q.controls--
		}
		q.mu.Unlock()
	}
}

// dropPending ends the helper, dropping what waits (the stream ended).
func (q *Queue) dropPending() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.first > 0 {
		close(q.preluded)
	}
	q.pending, q.controls, q.first, q.helping = nil, 0, 0, false
}

// afterPrelude waits until the prelude's rest is in the channel (the
// helper delivers it); it reports false when wake or Release came first.
func (q *Queue) afterPrelude(wake <-chan struct{}) bool {
	if q.preluded == nil {
		return true
	}
	select {
	case <-q.preluded:
		return true
	default:
	}
	select {
	case <-q.preluded:
		return true
	case <-wake:
		return false
	case <-q.freedC():
		return false
	}
}

// send delivers e, waiting for room until Release; once an event was
// dropped for want of room after Release, every later one is too, so the
// consumer's stream ends without a gap.
func (q *Queue) send(e stream.Event) bool {
	sent, _ := q.sendUntil(e, nil)
	return sent
}

// sendUntil is send, which also gives up, reporting stopped, once stop is
// closed (nil: never).
func (q *Queue) sendUntil(e stream.Event, stop <-chan struct{}) (sent, stopped bool) {
	if q.cut.Load() {
		return false, false
	}
	if q.trySend(e) {
		return true, false
	}
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true, false
	case <-q.freedC():
		q.cut.Store(true)
		return false, false
	case <-stop:
		return false, true
	}
}

// TrySend delivers e if there is room now, and reports whether it did
// (a producer that must not wait: a poller loop).
func (q *Queue) TrySend(e stream.Event) bool {
	return !q.cut.Load() && q.trySend(e)
}

// trySend delivers e if there is room now.
func (q *Queue) trySend(e stream.Event) bool {
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true
	default:
		return false
	}
}

// Holding reports whether the consumer has not yet received the event
// in the channel's slot (there is one).
func (q *Queue) Holding() bool { return len(q.ch) > 0 }

// Conclude ends a channel consumer's stream after the peer's EOF, for a
// transport that then closes itself: it sends Lost (nil) behind EOF,
// waiting for room, and closes the channel. The send completes exactly
// when the consumer takes EOF, that is once it has handled every event
// before it: Conclude returns true then, and the transport closes (what
// it wrote meanwhile is flushed first). It returns false, delivering
// nothing, when stop is signalled or Release is called first: the
// transport decides again (Finish delivers Lost as usual).
func (q *Queue) Conclude(stop <-chan struct{}) bool {
	q.mu.Lock()
	q.done = true // flow events no longer matter: the transport closes
	q.pending = q.pending[:len(q.pending)-q.controls]
	q.controls = 0
	channel := q.ch != nil
	q.mu.Unlock()
	if !channel || q.cut.Load() {
		return false
	}
	q.helper.Wait()
	select {
	case q.ch <- stream.Event{Kind: stream.Lost}:
	case <-stop:
		return false
	case <-q.freedC():
		return false
	}
	q.sent.Add(1)
	q.mu.Lock()
	q.concluded = true
	q.mu.Unlock()
	close(q.ch)
	return true
}

// Release says the consumer may be gone (the transport was closed or
// aborted locally): a blocked Send returns false, and Finish no longer
// waits for room, taking back the event the consumer has not received.
// Release is idempotent.
func (q *Queue) Release() {
	q.freeMu.Do(func() {
		if !q.freed.CompareAndSwap(nil, &closedChan) {
			close(*q.freed.Load())
		}
	})
}

// Released returns a channel that is closed once Release is called.
func (q *Queue) Released() <-chan struct{} { return q.freedC() }

// freedC returns the channel Release closes, making it on first use: a
// queue nobody waits on (the adapter's, while it is not paused) holds
// none.
func (q *Queue) freedC() chan struct{} {
	if p := q.freed.Load(); p != nil {
		return *p
	}
	c := make(chan struct{})
	if q.freed.CompareAndSwap(nil, &c) {
		return c
	}
	return *q.freed.Load()
}

// closedChan is what Release leaves when nobody asked for the channel.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Finish delivers lost as the last event and closes the channel. The
// producer calls it once, after its last Send. Before Release it waits
// for room: a transport that ended by itself keeps every event for its
// consumer. After Release it never waits: the consumer may be gone, so
// the event it has not received is taken back (asyncio delivers nothing
// after close()); the slot holds one event, so whatever a consumer still
// receiving gets is a prefix of the stream, never one with a gap. A Made
// not yet received stays, and Lost waits behind it (takeBack). Called
// before any consumer claimed the queue, Finish returns at once and the
// claim delivers the prelude, then lost. After Conclude (or a first
// Finish) it does nothing.
func (q *Queue) Finish(lost stream.Event) {
	q.mu.Lock()
	q.done = true
	if q.concluded || q.ended {
		q.mu.Unlock()
		return
	}
	if q.ch == nil {
		q.ended, q.lost = true, &lost
		q.pending, q.controls = nil, 0 // the claim delivers the prelude, then lost
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.helper.Wait() // pending events go first (or are dropped by Release)
	q.finishWith(lost)
}

// takeBack empties the slot after Release, for Lost: the event there was
// not received, and asyncio delivers nothing after close(). Made is the
// exception (LC1): it goes back, and the caller's send of Lost waits for
// the consumer to take it, as the consumer that claims receives at least
// that. No other sender is left, so the slot is free for the caller or
// holds Made back.
func (q *Queue) takeBack() {
	select {
	case e := <-q.ch:
		if e.Kind == stream.Made {
			q.ch <- e
			return
		}
		e.Release() // a pooled buffer goes back
		q.sent.Add(-1)
	default:
	}
}

// finishWith puts lost in the channel, as Finish says, and closes it.
func (q *Queue) finishWith(lost stream.Event) {
	select {
	case q.ch <- lost:
	default:
		select {
		case q.ch <- lost:
		case <-q.freedC():
			q.takeBack()
			q.ch <- lost // see takeBack
		}
	}
	q.sent.Add(1)
	close(q.ch)
}
