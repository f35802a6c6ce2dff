package queue

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/reactivex/rxgo/v2"

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

// Queue is the bounded, single-consumer event channel a transport delivers
// its events through. Its producer (a transport) calls Send, Control,
// Release and Finish; exactly one consumer claims it, through Events,
// Observable or Claim, and the first claim starts the producer.
//
// A Queue never holds more than its capacity of events plus two pending
// flow-control events, so a consumer that stops consuming stops the
// producer (Send blocks) instead of growing memory.
//
// Multiple goroutines may invoke methods on a Queue simultaneously, with
// one producer and one consumer.
type Queue struct {
	size   int
	ch     chan stream.Event // the channel consumer's, made by its claim
	items  chan<- rxgo.Item  // the Observable subscriber's, set by its claim
	start  func()
	abort  func()
	claim  atomic.Int32
	cut    atomic.Bool  // an event was dropped after Release: every later one is too (no gap)
	sent   atomic.Int64 // events handed to the consumer (Delivered)
	once   sync.Once
	freed  atomic.Pointer[chan struct{}] // closed by Release; made by its first waiter (freedC)
	freeMu sync.Once

	mu      sync.Mutex
	pending []stream.Event // control events waiting for room; at most two
	live    bool           // not between sending Made or EOF and its being taken
	helping bool
	done    bool // Finish has begun: Control drops its events
	helper  sync.WaitGroup
	prelude []stream.Event // what the claim delivers first (Prelude)
	sinking bool           // the consumer's sink (ch or items) is set
	ended   bool           // Finish came before the sink: the claim delivers lost

	// An Observable subscriber's producer goroutine waits for finished,
	// then delivers lost itself, bounded by its context; gone is closed
	// when that context ends.
	finished chan struct{}
	lost     *stream.Event // set with ended, or before finished is closed: a pointer keeps every Queue 64 bytes smaller
	gone     chan struct{}
}

// NewQueue returns a queue holding at most capacity events (at least 2).
// start is called once, by the first claim; abort is called when an
// Observable subscriber's context ends before Lost was delivered. Either
// may be nil.
func New(capacity int, start, abort func()) *Queue {
	return &Queue{
		size:  max(capacity, 2),
		start: start,
		abort: abort,
	}
}

// Prelude sets the events the claim delivers before any the producer
// sends (a stream handed over mid-way starts with its own Made, say).
// Call it before the queue can be claimed; the queue grows to hold them
// and a Lost.
func (q *Queue) Prelude(first ...stream.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.prelude = first
	q.size = max(q.size, len(first)+1)
}

// Claimed reports whether a consumer claimed the queue (or reserved it).
func (q *Queue) Claimed() bool { return q.claim.Load() != claimNone }

// Delivered returns the number of events handed to the consumer: put in
// its channel, or sent to its Observable subscriber, not counting those
// dropped to make room for Lost.
func (q *Queue) Delivered() int64 { return q.sent.Load() }

// Cap returns the number of events the queue holds.
func (q *Queue) Cap() int { return q.size }

// Events claims the queue for a channel consumer and returns its channel.
// Like context.Context.Done, every call returns the same channel, so it
// may be called in a select loop. Once an Observable or another consumer
// has claimed the queue, Events returns a closed channel holding a single
// Lost event whose Err is ErrAlreadySubscribed.
func (q *Queue) Events() <-chan stream.Event {
	if !q.claimAs(claimChannel) {
		ch := make(chan stream.Event, 1)
		ch <- stream.Event{Kind: stream.Lost, Err: stream.ErrAlreadySubscribed}
		close(ch)
		return ch
	}
	return q.ch
}

// Claim claims the queue for a consumer that does not read the channel
// (the Protocol adapter). It reports whether the claim succeeded; when it
// did, prepare (if not nil) runs before the producer starts.
func (q *Queue) Claim(prepare func()) bool {
	if !q.claim.CompareAndSwap(claimNone, claimOther) {
		return false
	}
	if prepare != nil {
		prepare()
	}
	q.startOnce(false)
	return true
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
	if !q.claim.CompareAndSwap(claimReserved, claimOther) {
		return false
	}
	if prepare != nil {
		prepare()
	}
	q.startOnce(false)
	return true
}

func (q *Queue) claimAs(who int32) bool {
	if !q.claim.CompareAndSwap(claimNone, who) && (who != claimChannel || q.claim.Load() != claimChannel) {
		return false
	}
	q.startOnce(true)
	return true
}

// startOnce makes the channel (a consumer without one, the adapter, costs
// none) and starts the producer.
func (q *Queue) startOnce(channel bool) {
	q.once.Do(func() {
		if channel {
			q.mu.Lock()
			q.ch = make(chan stream.Event, q.size) // room for the prelude and Lost
			for _, e := range q.prelude {
				q.ch <- e
			}
			q.sent.Add(int64(len(q.prelude)))
			q.sinking = true
			if q.ended {
				q.sent.Add(1)
				q.ch <- *q.lost
				close(q.ch)
			}
			q.mu.Unlock()
		}
		if len(q.prelude) > 0 {
			q.opened() // the prelude's Made is in: control events follow it
		}
		if q.start != nil {
			q.start()
		}
	})
}

// opened runs once Made or EOF has been taken: control events that came
// meanwhile (a write before the claim, say) follow it now.
func (q *Queue) opened() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.live = true
	if len(q.pending) > 0 && q.hasSink() && !q.helping && !q.done { // done: Finish closes the sink
		q.helping = true
		q.helper.Add(1)
		go q.help()
	}
}

// Send delivers e, waiting for room; once Release has been called it no
// longer waits, and reports false when there was no room.
//
// Made and EOF are synchronous: Send returns only once the consumer has
// taken them (or reports false on Release, the event perhaps still
// queued), and control events wait beside the channel meanwhile. So Made
// is never behind another event nor among the events Finish may drop, and
// a transport that closes itself after EOF knows the consumer has handled
// everything before EOF.
func (q *Queue) Send(e stream.Event) bool {
	sync := e.Kind == stream.Made || e.Kind == stream.EOF
	if e.Kind == stream.EOF {
		q.hold()
	}
	if !q.send(e) {
		return false
	}
	if sync {
		if !q.WaitTaken(nil) {
			return false
		}
		q.opened()
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
	if q.items != nil {
		select {
		case q.items <- rxgo.Of(e):
			q.sent.Add(1)
			return true, false
		case <-wake:
			return false, true
		case <-q.freedC():
			q.cut.Store(true)
			return false, false
		}
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

// TakeBack removes the Data events a channel consumer has not received
// yet and returns their bytes, in order; every other event stays queued,
// in order. The producer calls it, between sends. An Observable
// subscriber's items are its pipeline's: TakeBack returns nil for it.
func (q *Queue) TakeBack() []byte {
	q.mu.Lock()
	channel := q.ch != nil // a claim may be setting it
	q.mu.Unlock()
	if !channel {
		return nil
	}
	taken := q.drain(nil)
	q.hold() // a control event on its way lands first, then they wait
	taken = q.drain(taken)
	var data []byte
	for _, e := range taken {
		if e.Kind == stream.Data {
			data = append(data, e.Data...)
			continue
		}
		select {
		case q.ch <- e: // room: the channel was just emptied
			q.sent.Add(1)
		default:
		}
	}
	q.opened()
	return data
}

// drain appends the events in the channel to taken.
func (q *Queue) drain(taken []stream.Event) []stream.Event {
	for {
		select {
		case e := <-q.ch:
			q.sent.Add(-1)
			taken = append(taken, e)
		default:
			return taken
		}
	}
}

// hold makes control events wait beside the channel until opened, and
// waits for one already on its way.
func (q *Queue) hold() {
	q.mu.Lock()
	q.live = false
	q.mu.Unlock()
	q.helper.Wait()
}

// Control delivers a PauseWriting or ResumeWriting event without ever
// blocking. When the channel is full the event waits, and a consecutive
// pause and resume that are both still waiting cancel out (the consumer
// sees the same alternation, ending in the same state).
func (q *Queue) Control(e stream.Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.done || q.cut.Load() {
		return
	}
	if !q.live || !q.hasSink() {
		q.pending = coalesce(q.pending, e)
		return
	}
	if len(q.pending) == 0 && !q.helping && q.trySend(e) {
		return
	}
	q.pending = coalesce(q.pending, e)
	if len(q.pending) > 0 && !q.helping {
		q.helping = true
		q.helper.Add(1)
		go q.help()
	}
}

// coalesce appends e to the pending control events. Pause and resume
// alternate, so when two already wait the last is e's opposite: dropping
// it instead keeps the alternation (the first may be in flight).
func coalesce(pending []stream.Event, e stream.Event) []stream.Event {
	if len(pending) >= 2 {
		return pending[:len(pending)-1]
	}
	return append(pending, e)
}

// help delivers pending control events in order, then exits.
func (q *Queue) help() {
	defer q.helper.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 || !q.live {
			q.helping = false
			q.mu.Unlock()
			return
		}
		e := q.pending[0]
		q.mu.Unlock()
		if !q.send(e) { // released: dropping any later one keeps the alternation
			q.mu.Lock()
			q.pending, q.helping = nil, false
			q.mu.Unlock()
			return
		}
		q.mu.Lock()
		q.pending = q.pending[1:]
		q.mu.Unlock()
	}
}

// The sink is the claimed consumer's channel: the channel consumer's, or
// the Observable subscriber's item channel, which the producer sends to
// directly (no goroutine in between). The adapter has none.

func (q *Queue) hasSink() bool { return q.ch != nil || q.items != nil }

// send delivers e, waiting for room until Release; once an event was
// dropped for want of room after Release, every later one is too, so the
// consumer's stream ends without a gap. An Observable
// subscriber has no room to hold Made: Made waits for it until its
// context ends, Release or not (LC1, as a channel's room keeps it).
func (q *Queue) send(e stream.Event) bool {
	if q.cut.Load() {
		return false
	}
	if q.items != nil {
		freed := q.freedC()
		if e.Kind == stream.Made {
			freed = q.gone
		}
		select {
		case q.items <- rxgo.Of(e):
			q.sent.Add(1)
			return true
		case <-freed:
			q.cut.Store(true)
			return false
		}
	}
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true
	default:
	}
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true
	case <-q.freedC():
		q.cut.Store(true)
		return false
	}
}

// trySend delivers e if there is room now.
func (q *Queue) trySend(e stream.Event) bool {
	if q.items != nil {
		select {
		case q.items <- rxgo.Of(e):
			q.sent.Add(1)
			return true
		default:
			return false
		}
	}
	select {
	case q.ch <- e:
		q.sent.Add(1)
		return true
	default:
		return false
	}
}

// queued returns the number of events sent but not yet taken.
func (q *Queue) queued() int {
	if q.items != nil {
		return len(q.items)
	}
	return len(q.ch)
}

// WaitTaken waits until the consumer has received every event sent so
// far, and reports true; it reports false when Release is called or stop
// is closed first. A channel has no receive notification, so WaitTaken
// checks with a backoff from 50 µs to 10 ms; Send uses it for Made and
// EOF only.
func (q *Queue) WaitTaken(stop <-chan struct{}) bool {
	d := 50 * time.Microsecond
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for q.queued() > 0 {
		if t == nil {
			t = time.NewTimer(d)
		} else {
			t.Reset(d)
		}
		select {
		case <-t.C:
		case <-q.freedC():
			return false
		case <-stop:
			return false
		}
		d = min(2*d, 10*time.Millisecond)
	}
	return true
}

// Release says the consumer may be gone (the transport was closed or
// aborted locally): a blocked Send returns false, and Finish no longer
// waits for room, dropping undelivered events if it must.
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

// Finish delivers lost as the last event and closes the channel. It waits
// for room until Release; after Release it waits for room a little
// longer (finishGrace: a consumer still receiving makes room itself, and
// sees every event), then makes room by dropping the events still queued
// (never Made: see Send). The producer calls Finish once, after its last
// Send. Called before any consumer claimed the queue, Finish returns at
// once and the claim delivers the prelude, then lost.
func (q *Queue) Finish(lost stream.Event) {
	q.mu.Lock()
	q.done = true
	if !q.sinking {
		q.ended, q.lost = true, &lost
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	q.helper.Wait() // pending control events go first (or are dropped by Release)
	q.sent.Add(1)   // Lost always reaches the consumer (or its context ended)
	if q.items != nil {
		q.lost = &lost
		close(q.finished) // the subscriber's goroutine delivers it
		return
	}
	select {
	case q.ch <- lost:
		close(q.ch)
		return
	default:
	}
	select {
	case q.ch <- lost:
	case <-q.freedC():
		q.finishReleased(lost)
	}
	close(q.ch)
}

// finishGrace is how long Finish waits for room after Release before it
// drops events. Dropping while the consumer still receives could take an
// event from between two it gets (a ResumeWriting between two
// PauseWritings, say); a consumer that still receives makes room sooner.
const finishGrace = 100 * time.Millisecond

// finishReleased delivers lost after Release.
func (q *Queue) finishReleased(lost stream.Event) {
	t := time.NewTimer(finishGrace)
	defer t.Stop()
	select {
	case q.ch <- lost:
	case <-t.C:
		q.makeRoom()
		q.ch <- lost
	}
}

// makeRoom empties the channel so that Lost fits, keeping a Made at its
// head (a prelude's).
func (q *Queue) makeRoom() {
	for first := true; ; first = false {
		select {
		case e := <-q.ch:
			if first && e.Kind == stream.Made {
				defer func() { q.ch <- e }() // the channel is empty by then
				continue
			}
			q.sent.Add(-1)
		default:
			return
		}
	}
}
