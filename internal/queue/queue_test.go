package queue

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// script is a fake transport: once its queue is claimed it sends its
// events in order (then, if endless, Data until Send refuses), then
// Finish(lost). Its abort hook releases the queue, as Abort does.
type script struct {
	q       *Queue
	events  []stream.Event
	endless bool
	lost    stream.Event

	starts  atomic.Int32
	aborts  atomic.Int32
	started chan struct{} // closed by the first start
	done    chan struct{} // closed once the producer has returned from Finish
}

func newScript(lost stream.Event, events ...stream.Event) *script {
	s := &script{
		events:  events,
		lost:    lost,
		started: make(chan struct{}),
		done:    make(chan struct{}),
	}
	s.q = New(s.start, s.abort)
	return s
}

func (s *script) start() {
	if s.starts.Add(1) > 1 {
		return // counted; the test reports it
	}
	close(s.started)
	go s.run()
}

func (s *script) abort() {
	s.aborts.Add(1)
	s.q.Release()
}

func (s *script) run() {
	defer close(s.done)
	for _, e := range s.events {
		if !s.q.Send(e) {
			s.q.Finish(s.lost)
			return
		}
	}
	for s.endless && s.q.Send(stream.Event{Kind: stream.Data, Data: []byte("x")}) {
	}
	s.q.Finish(s.lost)
}

var errBoom = errors.New("boom")

func made() stream.Event          { return stream.Event{Kind: stream.Made} }
func data(s string) stream.Event  { return stream.Event{Kind: stream.Data, Data: []byte(s)} }
func lost(err error) stream.Event { return stream.Event{Kind: stream.Lost, Err: err} }

var (
	pause  = stream.Event{Kind: stream.PauseWriting}
	resume = stream.Event{Kind: stream.ResumeWriting}
)

// collect receives from ch until it is closed.
func collect(ch <-chan stream.Event) []stream.Event {
	var out []stream.Event
	for e := range ch {
		out = append(out, e)
	}
	return out
}

// trace formats events as "Made Data(1) Lost(<nil>)".
func trace(evs []stream.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.String()
	}
	return strings.Join(s, " ")
}

// tryRecv receives one event if one is ready.
func tryRecv(ch <-chan stream.Event) (stream.Event, bool, bool) {
	select {
	case e, ok := <-ch:
		return e, ok, true
	default:
		return stream.Event{}, false, false
	}
}

// opened claims q's channel and sends Made the way a transport does, on
// another goroutine, and returns once the test has taken Made and Send
// has returned: the channel is then empty and the queue open.
func opened(t *testing.T, q *Queue) <-chan stream.Event {
	t.Helper()
	ch := q.Events()
	sent := make(chan bool, 1)
	go func() { sent <- q.Send(made()) }()
	if e := <-ch; e.Kind != stream.Made {
		t.Fatalf("first event %v; want Made", e)
	}
	if !<-sent {
		t.Fatal("Send(Made) = false")
	}
	return ch
}

// TestRD2_OneSlot: the channel holds one event; a second Send waits
// until the consumer takes the first.
func TestRD2_OneSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		if cap(ch) != 1 {
			t.Fatalf("cap(Events()) = %d; want 1", cap(ch))
		}
		q.Send(data("1"))
		sent := make(chan bool, 1)
		go func() { sent <- q.Send(data("22")) }()
		synctest.Wait()
		select {
		case <-sent:
			t.Fatal("a second Send returned with the slot full")
		default:
		}
		<-ch
		if !<-sent {
			t.Fatal("Send = false once the slot was free")
		}
		go q.Finish(lost(nil))
		if got, want := trace(collect(ch)), "Data(2) Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
	})
}

func TestQueueNilHooks(t *testing.T) {
	q := New(nil, nil)
	ch := opened(t, q)
	q.Finish(lost(nil))
	if got := trace(collect(ch)); got != "Lost(<nil>)" {
		t.Errorf("events after Made %q; want Lost(<nil>)", got)
	}
}

func TestEventsReturnsSameChannel(t *testing.T) {
	s := newScript(lost(nil), made(), data("a"))
	c1 := s.q.Events()
	c2 := s.q.Events()
	if c1 != c2 {
		t.Fatal("a second Events call returned another channel")
	}
	if got, want := trace(collect(c1)), "Made Data(1) Lost(<nil>)"; got != want {
		t.Errorf("events %q; want %q", got, want)
	}
	<-s.done
	if n := s.starts.Load(); n != 1 {
		t.Errorf("start called %d times; want 1", n)
	}
	if s.q.Events() != c1 {
		t.Error("Events after Lost returned another channel")
	}
}

func TestStartCalledOnceUnderConcurrentClaims(t *testing.T) {
	s := newScript(lost(nil), made())
	const n = 16
	chans := make([]<-chan stream.Event, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { chans[i] = s.q.Events() })
	}
	wg.Wait()
	for i, c := range chans {
		if c != chans[0] {
			t.Fatalf("goroutine %d got another channel", i)
		}
	}
	collect(chans[0])
	<-s.done
	if got := s.starts.Load(); got != 1 {
		t.Errorf("start called %d times; want 1", got)
	}
}

func TestStartNotCalledBeforeClaim(t *testing.T) {
	s := newScript(lost(nil), made())
	_ = s.q.Observable() // building an Observable does not claim
	if got := s.starts.Load(); got != 0 {
		t.Fatalf("start called %d times before any claim", got)
	}
	collect(s.q.Events())
	<-s.done
}

func TestEventsAfterOtherClaim(t *testing.T) {
	// Claim first (the adapter's way, which reads no channel), then
	// Events: a closed channel holding one Lost(ErrAlreadySubscribed).
	var starts atomic.Int32
	var order []string
	q := New(func() {
		starts.Add(1)
		order = append(order, "start")
	}, nil)
	ok := q.Claim(func() { order = append(order, "prepare") })
	if !ok {
		t.Fatal("first Claim failed")
	}
	if got := strings.Join(order, ","); got != "prepare,start" {
		t.Errorf("Claim ran %q; want prepare,start", got)
	}
	for range 2 {
		ch := q.Events()
		e, open := <-ch
		if !open || e.Kind != stream.Lost || !errors.Is(e.Err, stream.ErrAlreadySubscribed) {
			t.Errorf("Events after Claim gave %v (open %v); want Lost(ErrAlreadySubscribed)", e, open)
		}
		if _, open := <-ch; open {
			t.Error("the loser's channel is not closed after its Lost")
		}
	}
	if q.Claim(nil) {
		t.Error("a second Claim succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var its []rxgo.Item
	for it := range q.Observable().Observe(rxgo.WithContext(ctx)) {
		its = append(its, it)
	}
	if len(its) != 1 || !errors.Is(its[0].E, stream.ErrAlreadySubscribed) {
		t.Errorf("Observable after Claim gave %v; want one ErrAlreadySubscribed error item", its)
	}
	if got := starts.Load(); got != 1 {
		t.Errorf("start called %d times; want 1", got)
	}
}

func TestClaimAfterEventsFails(t *testing.T) {
	s := newScript(lost(nil), made())
	ch := s.q.Events()
	called := false
	if s.q.Claim(func() { called = true }) {
		t.Error("Claim after Events succeeded")
	}
	if called {
		t.Error("a failed Claim ran prepare")
	}
	collect(ch)
	<-s.done
}

func TestSendFalseAfterRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		sent := make(chan bool, 1)
		go func() { sent <- q.Send(data("22")) }()
		synctest.Wait()
		q.Release()
		synctest.Wait()
		select {
		case ok := <-sent:
			if ok {
				t.Error("a blocked Send returned true after Release")
			}
		default:
			t.Fatal("a blocked Send still waits after Release")
		}
		// A Send on the full, released queue returns false at once.
		if q.Send(data("4444")) {
			t.Error("Send on a full released queue returned true")
		}
		q.Release() // idempotent
		q.Finish(lost(nil))
		if got := trace(collect(ch)); got != "Lost(<nil>)" {
			t.Errorf("events %q; want Lost(<nil>) (queued events dropped after Release)", got)
		}
	})
}

func TestWR6_ControlNeverBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		// The channel is full: Control must return at once (a blocked
		// Control would deadlock this bubble).
		q.Control(pause)
		q.Control(resume)
		synctest.Wait()
		if len(ch) != 1 {
			t.Fatalf("%d events in the channel; want 1", len(ch))
		}
		go q.Finish(lost(nil))
		if got, want := trace(collect(ch)), "Data(1) PauseWriting ResumeWriting Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
	})
}

func TestWR6_ControlWithRoomIsImmediate(t *testing.T) {
	q := New(nil, nil)
	ch := opened(t, q)
	q.Control(pause)
	if len(ch) != 1 {
		t.Fatalf("%d events in the channel after Control with room; want 1", len(ch))
	}
	<-ch
	q.Send(data("1"))
	q.Control(resume)
	go q.Finish(lost(nil))
	if got, want := trace(collect(ch)), "Data(1) ResumeWriting Lost(<nil>)"; got != want {
		t.Errorf("events %q; want %q", got, want)
	}
}

func TestWR6_PendingControlDeliveredInOrderBeforeLaterData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		q.Control(pause)
		// The consumer takes one event: the waiting pause goes in before
		// any later Data.
		<-ch
		synctest.Wait()
		done := make(chan struct{})
		go func() {
			defer close(done)
			q.Send(data("333"))
			q.Finish(lost(nil))
		}()
		if got, want := trace(collect(ch)), "PauseWriting Data(3) Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
		<-done
	})
}

func TestWR6_PendingPairCancelsOut(t *testing.T) {
	tests := []struct {
		name     string
		controls []stream.Event
		want     string // the control events the consumer sees
	}{
		{name: "pause", controls: []stream.Event{pause}, want: "PauseWriting"},
		{name: "pause resume", controls: []stream.Event{pause, resume}, want: "PauseWriting ResumeWriting"},
		{name: "pause resume pause", controls: []stream.Event{pause, resume, pause}, want: "PauseWriting"},
		{name: "two pairs", controls: []stream.Event{pause, resume, pause, resume}, want: "PauseWriting ResumeWriting"},
		{name: "many", controls: []stream.Event{pause, resume, pause, resume, pause, resume, pause}, want: "PauseWriting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := New(nil, nil)
				ch := opened(t, q)
				q.Send(data("1"))
				for _, c := range tt.controls {
					q.Control(c)
				}
				go q.Finish(lost(nil))
				want := "Data(1) " + tt.want + " Lost(<nil>)"
				if got := trace(collect(ch)); got != want {
					t.Errorf("events %q; want %q", got, want)
				}
			})
		})
	}
}

// TestWR6_ControlAlternationRandom interleaves Sends, alternating Controls
// and a consumer that reads at random, and checks what the consumer sees:
// Data in order, controls alternating from a pause and ending in the
// producer's final state, Lost last, and never more than two control
// events waiting beside the channel.
func TestWR6_ControlAlternationRandom(t *testing.T) {
	for seed := range uint64(100) {
		synctest.Test(t, func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			q := New(nil, nil)
			ch := opened(t, q)
			var got []stream.Event
			paused, controls, datas := false, 0, 0
			for range 300 {
				synctest.Wait() // the helper has delivered what it can
				q.mu.Lock()
				pending := len(q.pending)
				q.mu.Unlock()
				if pending > 2 {
					t.Fatalf("seed %d: %d control events wait; want at most 2", seed, pending)
				}
				switch r.IntN(3) {
				case 0:
					if paused {
						q.Control(resume)
					} else {
						q.Control(pause)
					}
					paused = !paused
					controls++
				case 1:
					if len(ch) < cap(ch) {
						datas++
						q.Send(stream.Event{Kind: stream.Data, Data: make([]byte, datas)})
					}
				case 2:
					if e, ok, ready := tryRecv(ch); ready && ok {
						got = append(got, e)
					}
				}
			}
			go q.Finish(lost(nil))
			got = append(got, collect(ch)...)

			if got[len(got)-1].Kind != stream.Lost {
				t.Fatalf("seed %d: events %q; want Lost last", seed, trace(got))
			}
			seenPaused, nData, nControl := false, 0, 0
			for _, e := range got[:len(got)-1] {
				switch e.Kind {
				case stream.Data:
					nData++
					if len(e.Data) != nData {
						t.Fatalf("seed %d: Data out of order: %q", seed, trace(got))
					}
				case stream.PauseWriting, stream.ResumeWriting:
					nControl++
					if (e.Kind == stream.PauseWriting) == seenPaused {
						t.Fatalf("seed %d: controls do not alternate from a pause: %q", seed, trace(got))
					}
					seenPaused = !seenPaused
				default:
					t.Fatalf("seed %d: unexpected %v", seed, e)
				}
			}
			if nData != datas {
				t.Errorf("seed %d: %d Data delivered; want %d", seed, nData, datas)
			}
			if seenPaused != paused {
				t.Errorf("seed %d: consumer ends paused=%v; producer paused=%v", seed, seenPaused, paused)
			}
			if nControl > controls {
				t.Errorf("seed %d: %d controls delivered of %d", seed, nControl, controls)
			}
		})
	}
}

func TestWR6_ControlAfterFinishIsDropped(t *testing.T) {
	q := New(nil, nil)
	ch := opened(t, q)
	q.Finish(lost(nil))
	q.Control(pause) // must not panic on the closed channel
	q.Control(resume)
	if got := trace(collect(ch)); got != "Lost(<nil>)" {
		t.Errorf("events %q", got)
	}
}

func TestWR6_ReleaseDropsPendingControl(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		q.Control(pause)
		q.Release()
		synctest.Wait() // the helper gives up
		q.Control(resume)
		q.Finish(lost(nil)) // must not wait: released
		if got := trace(collect(ch)); got != "Lost(<nil>)" {
			t.Errorf("events %q; want Lost(<nil>)", got)
		}
	})
}

func TestLC2_FinishDeliversLostLastAndCloses(t *testing.T) {
	s := newScript(lost(errBoom), made(), data("a"), stream.Event{Kind: stream.EOF}, data("bb"))
	evs := collect(s.q.Events())
	if got, want := trace(evs), "Made Data(1) EOF Data(2) Lost(boom)"; got != want {
		t.Errorf("events %q; want %q", got, want)
	}
	if !errors.Is(evs[len(evs)-1].Err, errBoom) {
		t.Errorf("Lost's error %v; want %v", evs[len(evs)-1].Err, errBoom)
	}
	<-s.done
}

func TestLC2_FinishWaitsForConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		q.Control(pause)
		finished := make(chan struct{})
		go func() {
			q.Finish(lost(nil))
			close(finished)
		}()
		synctest.Wait()
		select {
		case <-finished:
			t.Fatal("Finish did not wait for room without Release")
		default:
		}
		if got, want := trace(collect(ch)), "Data(1) PauseWriting Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q (nothing dropped without Release)", got, want)
		}
		<-finished
	})
}

func TestLC2_FinishAfterReleaseDropsQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		q.Control(pause)
		q.Release()
		q.Finish(lost(errBoom)) // returns without a reader
		if got, want := trace(collect(ch)), "Lost(boom)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
	})
}

// TestLC1_ReleaseBeforeMadeTaken: a transport closed locally before its
// consumer took Made still delivers Made, then Lost: Finish keeps Made
// and waits for the consumer to take it.
func TestLC1_ReleaseBeforeMadeTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := q.Events()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if q.Send(made()) {
				q.Send(data("1"))
			}
			q.Finish(lost(nil))
		}()
		synctest.Wait()
		q.Release()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Finish returned before the consumer took Made")
		default:
		}
		got := trace(collect(ch))
		<-done
		if got != "Made Lost(<nil>)" {
			t.Errorf("events %q; want Made, then Lost", got)
		}
	})
}

func TestLC2_FinishAfterReleaseTakesBackUnreceived(t *testing.T) {
	q := New(nil, nil)
	ch := opened(t, q)
	q.Send(data("1"))
	q.Release()
	q.Finish(lost(nil))
	if got, want := trace(collect(ch)), "Lost(<nil>)"; got != want {
		t.Errorf("events %q; want %q", got, want)
	}
}

func TestLC2_ReleaseWhileFinishWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(data("1"))
		finished := make(chan struct{})
		go func() {
			q.Finish(lost(nil))
			close(finished)
		}()
		synctest.Wait()
		q.Release()
		<-finished
		if got, want := trace(collect(ch)), "Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
	})
}

func TestLC2_LostExactlyOnceUnderConcurrentRelease(t *testing.T) {
	// A consumer reading while Release and Finish race: Made first, Lost
	// last and once, Data in order, nothing after Lost.
	for range 200 {
		s := newScript(lost(nil), made(), data("1"), data("22"), data("333"), data("4444"))
		s.endless = true
		ch := s.q.Events()
		var evs []stream.Event
		for e := range ch {
			evs = append(evs, e)
			if len(evs) == 3 {
				go s.abort()
			}
		}
		<-s.done
		if evs[0].Kind != stream.Made {
			t.Fatalf("events %q; want Made first", trace(evs))
		}
		for i, e := range evs[1 : len(evs)-1] {
			if e.Kind != stream.Data {
				t.Fatalf("events %q: %v before Lost", trace(evs), e)
			}
			if i < 4 && len(e.Data) != i+1 {
				t.Fatalf("events %q: Data out of order", trace(evs))
			}
		}
		if evs[len(evs)-1].Kind != stream.Lost {
			t.Fatalf("events %q; want Lost last", trace(evs))
		}
		if slices.ContainsFunc(evs[:len(evs)-1], func(e stream.Event) bool { return e.Kind == stream.Lost }) {
			t.Fatalf("events %q: Lost twice", trace(evs))
		}
	}
}

// TestLC1_MadeFirstWhenReleaseRacesConsumer runs a producer (Made, then
// Data), a Release and a consumer at once: whatever Finish drops, the
// consumer must see Made first (if anything before Lost), once, and Lost
// last.
func TestLC1_MadeFirstWhenReleaseRacesConsumer(t *testing.T) {
	for i := range 20000 {
		q := New(nil, nil)
		ch := q.Events()
		go func() {
			if q.Send(made()) {
				for _, d := range []string{"1", "22", "333"} {
					if !q.Send(data(d)) {
						break
					}
				}
			}
			q.Finish(lost(nil))
		}()
		got := make(chan []stream.Event)
		go func() { got <- collect(ch) }()
		q.Release()
		evs := <-got
		s := trace(evs)
		if evs[len(evs)-1].Kind != stream.Lost {
			t.Fatalf("run %d: events %q; want Lost last", i, s)
		}
		if len(evs) > 1 && evs[0].Kind != stream.Made {
			t.Fatalf("run %d: events %q; Made is not first", i, s)
		}
		if n := strings.Count(s, "Made"); n > 1 {
			t.Fatalf("run %d: events %q; Made %d times", i, s, n)
		}
	}
}

// TestLC1_ControlBeforeMadeFollowsMade: a pause or resume that happens
// before the producer has sent Made (a write before the claim) must not
// overtake Made; it is delivered after it, still alternating.
func TestLC1_ControlBeforeMadeFollowsMade(t *testing.T) {
	tests := []struct {
		name       string
		claimFirst bool // Events before the controls, else after
		controls   []stream.Event
		want       string
	}{
		{name: "pause before claim", controls: []stream.Event{pause}, want: "PauseWriting"},
		{name: "pause after claim", claimFirst: true, controls: []stream.Event{pause}, want: "PauseWriting"},
		{name: "pair before claim", controls: []stream.Event{pause, resume}, want: "PauseWriting ResumeWriting"},
		{name: "pair after claim", claimFirst: true, controls: []stream.Event{pause, resume}, want: "PauseWriting ResumeWriting"},
		{name: "three before claim", controls: []stream.Event{pause, resume, pause}, want: "PauseWriting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := New(nil, nil)
				var ch <-chan stream.Event
				if tt.claimFirst {
					ch = q.Events()
				}
				for _, c := range tt.controls {
					q.Control(c) // never blocks, channel or not
				}
				if !tt.claimFirst {
					ch = q.Events()
				}
				sent := make(chan struct{})
				go func() {
					q.Send(made())
					close(sent)
				}()
				var evs []stream.Event
				evs = append(evs, <-ch)
				<-sent
				synctest.Wait() // waiting controls go in now
				go func() {
					q.Send(data("1"))
					q.Finish(lost(nil))
				}()
				evs = append(evs, collect(ch)...)
				want := "Made " + tt.want + " Data(1) Lost(<nil>)"
				if got := trace(evs); got != want {
					t.Errorf("events %q; want %q", got, want)
				}
			})
		})
	}
}

// TestLC1_SendMadeDoesNotWait: Send(Made) returns once Made is in the
// channel, without waiting for the consumer; a control event sent then
// comes after it.
func TestLC1_SendMadeDoesNotWait(t *testing.T) {
	q := New(nil, nil)
	ch := q.Events()
	if !q.Send(made()) {
		t.Fatal("Send(Made) = false")
	}
	q.Control(pause)
	go q.Finish(lost(nil))
	if got, want := trace(collect(ch)), "Made PauseWriting Lost(<nil>)"; got != want {
		t.Errorf("events %q; want %q", got, want)
	}
}

// TestRD4_ConcludeReturnsOnceEOFTaken: Conclude sends Lost behind EOF and
// returns true exactly when the consumer takes EOF; Finish then adds
// nothing.
func TestRD4_ConcludeReturnsOnceEOFTaken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(nil, nil)
		ch := opened(t, q)
		q.Send(stream.Event{Kind: stream.EOF})
		done := make(chan bool, 1)
		go func() { done <- q.Conclude(nil) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Conclude returned before the consumer took EOF")
		default:
		}
		if !q.Holding() {
			t.Error("Holding = false with EOF in the slot")
		}
		if e := <-ch; e.Kind != stream.EOF {
			t.Fatalf("got %v; want EOF", e)
		}
		if !<-done {
			t.Fatal("Conclude = false once EOF was taken")
		}
		if !q.Holding() {
			t.Error("Holding = false with Lost in the slot")
		}
		q.Control(pause) // dropped: the transport closes
		q.Finish(lost(errBoom))
		if got, want := trace(collect(ch)), "Lost(<nil>)"; got != want {
			t.Errorf("events %q; want %q", got, want)
		}
		if q.Holding() {
			t.Error("Holding = true once Lost was received")
		}
	})
}

// TestRD4_ConcludeStops: stop or Release ends Conclude's wait without
// delivering anything; Finish then delivers Lost (after Release, taking
// back what the consumer has not received).
func TestRD4_ConcludeStops(t *testing.T) {
	for _, release := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			q := New(nil, nil)
			ch := opened(t, q)
			q.Send(stream.Event{Kind: stream.EOF})
			stop := make(chan struct{})
			done := make(chan bool, 1)
			go func() { done <- q.Conclude(stop) }()
			synctest.Wait()
			if release {
				q.Release()
			} else {
				close(stop)
			}
			if <-done {
				t.Fatal("Conclude = true with EOF not taken")
			}
			want := "EOF Lost(boom)"
			if release {
				q.Finish(lost(errBoom))
				want = "Lost(boom)"
			} else {
				go q.Finish(lost(errBoom))
			}
			if got := trace(collect(ch)); got != want {
				t.Errorf("release %v: events %q; want %q", release, got, want)
			}
		})
	}
}
