package chaos

import (
	"context"
	"errors"
	"fmt"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// action is one thing the driver does. Actions that change the owner
// (Detach, a claim, Attach) never run two at once; the others may race
// each other and one of them.
type action struct {
	name  string
	owner bool
	race  bool // may run concurrently with others
	run   func() error
}

// step draws one action, or a group that runs at once, and runs it.
func (it *iteration) step() error {
	cands := it.candidates()
	if chance(it.rng, 30) {
		if group := it.drawRace(cands); len(group) > 1 {
			return it.together(group)
		}
	}
	a := draw(it.rng, cands, func(action) bool { return true })
	it.log.Note("driver", a.name)
	return a.run()
}

// weighted is a candidate action and its weight.
type weighted struct {
	w int
	a action
}

// draw picks one of the candidates that ok accepts, by weight.
func draw(rng interface{ IntN(int) int }, cs []weighted, ok func(action) bool) action {
	total := 0
	for _, c := range cs {
		if ok(c.a) {
			total += c.w
		}
	}
	if total == 0 {
		return action{name: "nothing", run: func() error { return nil }}
	}
	n := rng.IntN(total)
	for _, c := range cs {
		if ok(c.a) {
			if n -= c.w; n < 0 {
				return c.a
			}
		}
	}
	panic("unreachable")
}

// drawRace picks an owner-changing action (sometimes none) and one or two
// others, all raceable and different.
func (it *iteration) drawRace(cs []weighted) []action {
	var group []action
	if chance(it.rng, 75) {
		if a := draw(it.rng, cs, func(a action) bool { return a.owner && a.race }); a.name != "nothing" {
			group = append(group, a)
		}
	}
	for n := 1 + it.rng.IntN(2); n > 0; n-- {
		a := draw(it.rng, cs, func(a action) bool {
			if a.owner || !a.race {
				return false
			}
			for _, g := range group {
				if g.name == a.name {
					return false
				}
			}
			return true
		})
		if a.name != "nothing" {
			group = append(group, a)
		}
	}
	return group
}

// together runs the actions at once: each on its own goroutine, all
// released by one signal.
func (it *iteration) together(group []action) error {
	names := ""
	for _, a := range group {
		names += " " + a.name
	}
	it.log.Note("driver", "race:"+names)
	start := make(chan struct{})
	errs := make(chan error, len(group))
	for _, a := range group {
		go func() {
			<-start
			errs <- it.safely(a)
		}()
	}
	close(start)
	var first error
	for range group {
		select {
		case err := <-errs:
			first = errors.Join(first, err)
		case <-it.ctx.Done():
			return fmt.Errorf("stuck: the race of%s did not end", names)
		}
	}
	return first
}

// safely runs a, turning a panic (of the suite or of the library on this
// goroutine) into an error.
func (it *iteration) safely(a action) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic in %s: %v", a.name, v)
		}
	}()
	return a.run()
}

// candidates lists the actions that make sense in the current state,
// with their random parameters drawn now (on the driver's goroutine).
func (it *iteration) candidates() []weighted {
	var cs []weighted
	add := func(w int, a action) { cs = append(cs, weighted{w, a}) }
	cur := it.owner()
	p := it.peer
	if p.released < len(p.gates) {
		add(3, action{name: "release", race: true, run: func() error { p.releaseGate(); return nil }})
		target := it.rng.Int64N(1 << 20)
		add(4, action{name: "release+await", run: func() error {
			p.releaseGate()
			return it.log.AwaitProgress(it.ctx, target)
		}})
	}
	add(1, action{name: "await quiet", run: func() error { return it.log.AwaitQuiet(it.ctx) }})
	add(1, action{name: "PauseReading", race: true, run: func() error { it.pauseReading(); return nil }})
	add(2, action{name: "ResumeReading", race: true, run: func() error { it.resumeReading(); return nil }})
	add(1, action{name: "peer stops reading", race: true, run: func() error { p.reading.Shut(); return nil }})
	add(1, action{name: "peer reads", race: true, run: func() error { p.reading.Open(); return nil }})
	add(1, action{name: "Close", race: true, run: func() error { it.localClose("Close"); return nil }})
	add(1, action{name: "Abort", race: true, run: func() error { it.localAbort("Abort"); return nil }})
	add(1, action{name: "peer reset", race: true, run: func() error { p.resetNow(); return nil }})
	if it.canWrite() {
		n := 1 + it.rng.IntN(64<<10)
		add(2, action{name: "Write", race: true, run: func() error { it.write(n); return nil }})
		add(1, action{name: "fill until paused", run: func() error { it.fill(); return nil }})
		add(1, action{name: "WriteEOF", race: true, run: func() error { it.tr.WriteEOF(); return nil }})
	}
	it.ownerCandidates(cur, add)
	return cs
}

// ownerCandidates adds the actions of the current owner's kind.
func (it *iteration) ownerCandidates(cur link, add func(int, action)) {
	switch {
	case cur.proto != nil:
		rest, split, release := chance(it.rng, 70), 1+it.rng.IntN(999), chance(it.rng, 80)
		add(5, action{name: fmt.Sprintf("arm Detach(rest=%v)", rest), owner: true, run: func() error {
			return it.armAndWait(cur.proto, arm{detach: true, rest: rest, split: split}, release)
		}})
		add(2, action{name: "Detach", owner: true, race: true, run: func() error { return it.detachNow(cur.proto) }})
		add(1, action{name: "arm PauseReading", run: func() error {
			return it.armAndWait(cur.proto, arm{pause: true}, release)
		}})
	case cur.c.Role == RoleUnclaimed:
		closeAtEOF := chance(it.rng, 40)
		add(3, action{name: "claim Events", owner: true, race: true, run: func() error {
			it.claimEvents(cur.det, cur.c.Name+".events", closeAtEOF)
			return nil
		}})
		add(2, action{name: "claim Observable", owner: true, race: true, run: func() error {
			it.claimRx(cur.det, cur.c.Name+".rx", closeAtEOF)
			return nil
		}})
		it.addAttach(cur, add)
	case cur.ch != nil || cur.rx != nil:
		var r *reader
		if cur.ch != nil {
			r = &cur.ch.reader
		} else {
			r = &cur.rx.reader
			add(1, action{name: "cancel", race: true, run: func() error { it.cancelRx(cur.rx); return nil }})
		}
		add(1, action{name: "stall", run: func() error { it.setStall(r, true); return nil }})
		add(2, action{name: "unstall", run: func() error { it.setStall(r, false); return nil }})
		if cur.ch != nil && cur.det != nil {
			it.addAttach(cur, add)
		}
	}
}

// addAttach adds Attach of a new protocol to a Detached: at once when
// nobody claimed it, else by its channel consumer, which stops reading.
func (it *iteration) addAttach(cur link, add func(int, action)) {
	pp := drawProto(it.rng)
	add(3, action{name: "Attach", owner: true, race: true, run: func() error {
		return it.attach(cur, it.newProtocol(RoleAttached, pp))
	}})
}

// attach hands cur's Detached back to p: at once when nobody claimed it,
// else through its channel consumer.
func (it *iteration) attach(cur link, p *protocol) error {
	if cur.ch != nil {
		return it.attachByConsumer(cur, p)
	}
	it.setOwner(link{c: p.c, proto: p})
	if err := p.attachTo(cur.det); err != nil {
		it.log.Violationf("Attach(%s) to an unclaimed %s: %v", p.c.Name, cur.c.Name, err)
		it.setOwner(cur)
	}
	return nil
}

// attachByConsumer asks cur's channel consumer to hand the stream to p.
func (it *iteration) attachByConsumer(cur link, p *protocol) error {
	it.setStall(&cur.ch.reader, false)
	call := attachCall{p: p, reply: make(chan error, 1)}
	select {
	case cur.ch.attach <- call:
	case <-cur.ch.done:
		return nil // it got Lost first: nothing to hand back
	case <-it.ctx.Done():
		return fmt.Errorf("stuck: %s did not take the Attach call", cur.c.Name)
	}
	select {
	case err := <-call.reply:
		if err == nil {
			it.mu.Lock()
			it.cur = link{c: p.c, proto: p}
			it.mu.Unlock()
		}
		return nil
	case <-it.ctx.Done():
		return fmt.Errorf("stuck: Attach(%s) by %s did not return", p.c.Name, cur.c.Name)
	}
}

// armAndWait arms p's next DataReceived, lets the peer send more (if
// release), and waits until the callback acted or no data can come; an
// arm that did not fire is taken back.
func (it *iteration) armAndWait(p *protocol, a arm, release bool) error {
	select {
	case <-it.armDone: // a stale signal (Detach in ConnectionMade)
	default:
	}
	it.log.setArm(p.c, a)
	if release {
		it.peer.releaseGate()
	}
	err := it.log.Await(it.ctx, "armed DataReceived or a quiet stream", func() bool {
		return p.c.arm == (arm{}) || it.log.quietLocked()
	})
	if err != nil || it.log.disarm(p.c) {
		return err
	}
	select {
	case <-it.armDone:
		return nil
	case <-it.ctx.Done():
		return errors.New("stuck: the armed DataReceived did not finish")
	}
}

// detachNow detaches p's transport from the driver's goroutine, while
// the read goroutine may be delivering.
func (it *iteration) detachNow(p *protocol) error {
	d, err := adapters.Detach(it.tr, nil)
	if err != nil {
		if !it.log.HasLost() {
			it.log.Violationf("Detach from another goroutine while %s owns the stream: %v", p.c.Name, err)
		}
		return nil
	}
	it.adopt(d, "from another goroutine")
	return nil
}

// claimEvents starts a channel consumer of d's events (the transport's
// own when d is nil).
func (it *iteration) claimEvents(d *adapters.Detached, name string, closeAtEOF bool) {
	c := it.log.NewConsumer(name, RoleChannel)
	cc := &channelConsumer{reader: newReader(it, c, closeAtEOF), d: d, attach: make(chan attachCall)}
	it.track(&cc.reader)
	it.setOwner(link{c: c, det: d, ch: cc})
	if d != nil {
		cc.ch = d.Events()
	} else {
		cc.ch = it.tr.Events()
	}
	go cc.run()
}

// claimRx subscribes to d's Observable (the transport's own when d is
// nil) with a context the driver may cancel.
func (it *iteration) claimRx(d *adapters.Detached, name string, closeAtEOF bool) {
	c := it.log.NewConsumer(name, RoleRx)
	// Not the iteration's context: a stuck iteration's report must show
	// the goroutines as they were stuck, before a cancellation aborts.
	ctx, cancel := context.WithCancel(context.Background())
	rc := &rxConsumer{reader: newReader(it, c, closeAtEOF), cancel: cancel}
	it.track(&rc.reader)
	it.mu.Lock()
	it.cancels = append(it.cancels, cancel)
	it.mu.Unlock()
	it.setOwner(link{c: c, det: d, rx: rc})
	obs := it.tr.Observable()
	if d != nil {
		obs = d.Observable()
	}
	rc.items = obs.Observe(rxgo.WithContext(ctx))
	go rc.run()
}

// track remembers a consumer goroutine, for the end.
func (it *iteration) track(r *reader) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.readers = append(it.readers, r)
}

// cancelRx cancels an Observable subscription's context.
func (it *iteration) cancelRx(rc *rxConsumer) {
	it.setAborted()
	it.log.Cancelled(rc.c)
	rc.cancel()
}

// setStall stops (or restarts) a channel or Observable consumer's receives.
func (it *iteration) setStall(r *reader, on bool) {
	if on {
		it.log.SetStalled(true)
		r.stall.Shut()
		return
	}
	r.stall.Open()
	it.log.SetStalled(false)
}

// pauseReading and resumeReading change reading and the Log's flag
// together (readMu), the flag on the safe side: a wait never believes that
// data can come while reading is paused.
func (it *iteration) pauseReading() {
	it.readMu.Lock()
	defer it.readMu.Unlock()
	it.pauseLocked()
}

func (it *iteration) resumeReading() {
	it.readMu.Lock()
	defer it.readMu.Unlock()
	it.resumeLocked()
}

func (it *iteration) pauseLocked() {
	it.log.SetReadPaused(true)
	it.tr.PauseReading()
}

func (it *iteration) resumeLocked() {
	it.tr.ResumeReading()
	it.log.SetReadPaused(false)
}

// fill writes until writing pauses (the peer should not be reading), at
// most 4 MiB.
func (it *iteration) fill() {
	for n := 0; n < 4<<20 && writable(it.tr); n += 16 << 10 {
		if it.write(16<<10) != nil {
			return
		}
	}
}

// writable reports whether t's writes are not paused.
func writable(t transport.Transport) bool {
	select {
	case <-t.Writable():
		return true
	default:
		return false
	}
}
