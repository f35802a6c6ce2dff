package chaos

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// Focused shapes: one scripted interleaving each, where the random suite
// found a defect, run a number of times (the interleaving is the
// scheduler's) in a child process, with the suite's checks. Each fails on
// the first attempt that breaks an invariant.

// shapeAttempts is how many times a shape runs; shapeTimeout bounds one
// attempt (a failure guard: an attempt takes milliseconds).
const (
	shapeAttempts = 30
	shapeTimeout  = 3 * time.Second
)

// shapeKind names a shape's attempts where a seed's kind goes.
const shapeKind = "attempt"

// shapePlan is the plan of a shape: this side dials with a protocol that
// keeps the stream half-open at EOF; the peer sends segs (a gate before
// each but the first) and ends with end.
func shapePlan(end string, segs ...[]int) plan {
	pl := plan{dial: true, first: RoleProtocol, p0: protoPlan{keepOpen: true}, waitPeerEnd: true}
	// An empty first segment: every segment of segs waits for its gate,
	// so that DataReceived is armed before its data can arrive.
	pl.peer = peerPlan{segments: append([][]int{nil}, segs...), end: end}
	if runtime.GOOS == "linux" {
		pl.opts = []transport.Option{transport.WithSendBuffer(4096)} // writes pause early
		pl.optDesc = []string{"WithSendBuffer(4096)"}
	}
	return pl
}

// runShape runs script over pl shapeAttempts times in the child, failing t
// at the first broken invariant.
func runShape(t *testing.T, pl plan, script func(it *iteration) error) {
	if !inChild(t) {
		return
	}
	env := newTestEnv(t)
	for i := range shapeAttempts {
		announce(uint64(i), shapeKind)
		if err := execute(env, uint64(i), Kinds[0], pl, nil, shapeTimeout, script); err != nil {
			t.Fatalf("attempt %d of %d: %v", i+1, shapeAttempts, err)
		}
	}
}

// detachWithRest makes P0 detach inside its first DataReceived, with the
// chunk's second half as rest, and returns the Detached's link.
func detachWithRest(it *iteration) (link, error) {
	if err := it.armAndWait(it.owner().proto, arm{detach: true, rest: true, split: 500}, true); err != nil {
		return link{}, err
	}
	cur := it.owner()
	if cur.det == nil {
		return cur, fmt.Errorf("the first protocol did not detach: the owner is %s", cur.c.Name)
	}
	return cur, nil
}

// TestLC2_DetachedAbortRacingEvents: Detach inside DataReceived (with a
// rest), then Abort and the Detached's Events() from two goroutines at
// once. The channel must get Made, then Lost last, then close; no send on
// a closed channel (a panic in rxnet's goroutine kills the child: the
// parent reports it).
func TestLC2_DetachedAbortRacingEvents(t *testing.T) {
	runShape(t, shapePlan(endNone, []int{300}, nil), func(it *iteration) error {
		d, err := detachWithRest(it)
		if err != nil {
			return err
		}
		err = it.together([]action{
			{name: "claim Events", run: func() error { it.claimEvents(d.det, d.c.Name+".events", false); return nil }},
			{name: "Abort", run: func() error { it.localAbort("Abort"); return nil }},
		})
		if err != nil {
			return err
		}
		return it.finish()
	})
}

// resetUnclaimed detaches, has the peer reset the connection while
// nobody claims the stream, and waits until this side failed: its writes
// were paused (the peer does not read), so Drain returns only then.
func resetUnclaimed(it *iteration) (link, error) {
	d, err := detachWithRest(it)
	if err != nil {
		return d, err
	}
	it.peer.reading.Shut()
	it.fill()
	if writable(it.tr) {
		return d, errors.New("writes did not pause: cannot wait for the reset with Drain")
	}
	it.peer.resetNow()
	if err := it.tr.Drain(it.ctx); err == nil || it.ctx.Err() != nil {
		return d, fmt.Errorf("transport.Drain after the peer's reset: %v, want the reset", err)
	}
	return d, nil
}

// TestLC2_DetachedEventsAfterPeerReset: Detach, then the peer resets the
// connection before anyone claims the stream; a later Events() must
// still get Made, Lost(the reset) and a closed channel.
func TestLC2_DetachedEventsAfterPeerReset(t *testing.T) {
	runShape(t, shapePlan(endNone, []int{300}, nil), func(it *iteration) error {
		d, err := resetUnclaimed(it)
		if err != nil {
			return err
		}
		it.claimEvents(d.det, d.c.Name+".events", false)
		return it.finish()
	})
}

// TestLC2_DetachedObservableAfterPeerReset: as above with an Observable:
// it must complete after Lost, and at the latest once its context is
// cancelled.
func TestLC2_DetachedObservableAfterPeerReset(t *testing.T) {
	runShape(t, shapePlan(endNone, []int{300}, nil), func(it *iteration) error {
		d, err := resetUnclaimed(it)
		if err != nil {
			return err
		}
		it.claimRx(d.det, d.c.Name+".rx", false)
		rc := it.owner().rx
		ctx, cancel := context.WithTimeout(it.ctx, shapeTimeout/3)
		defer cancel()
		if it.log.Await(ctx, "Lost", func() bool { return it.log.lost != nil }) != nil {
			it.cancelRx(rc)
			select {
			case <-rc.done:
				it.log.Violationf("%s: no Lost after the peer's reset (LC2); it completed once its context was cancelled", rc.c.Name)
			case <-it.ctx.Done():
				return fmt.Errorf("stuck: %s got no Lost after the peer's reset, and did not complete when its context was cancelled (LC2, LC5)", rc.c.Name)
			}
			return nil
		}
		return it.finish()
	})
}

// TestRD1_DetachedAttachAtOnceGetsRest: Detach inside DataReceived with a
// rest, then Attach a new protocol at once (nobody claimed the stream):
// the new protocol must receive the rest first, then the peer's later
// bytes and EOF.
func TestRD1_DetachedAttachAtOnceGetsRest(t *testing.T) {
	runShape(t, shapePlan(endFIN, []int{300}, []int{500}), func(it *iteration) error {
		d, err := detachWithRest(it)
		if err != nil {
			return err
		}
		if err := it.attach(d, it.newProtocol(RoleAttached, protoPlan{keepOpen: true})); err != nil {
			return err
		}
		it.peer.releaseAll()
		return it.finish()
	})
}
