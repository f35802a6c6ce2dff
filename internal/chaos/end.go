package chaos

import (
	"errors"
	"io"
)

// finish ends the connection the way the plan says, once nothing holds
// the data back any more, waits (with the iteration's deadline) for Lost
// at the chain's last owner and for every goroutine of the suite, and
// checks what only the end can tell.
func (it *iteration) finish() error {
	it.log.Note("driver", "finish")
	cur := it.owner()
	it.resumeReading()
	if cur.ch != nil {
		it.setStall(&cur.ch.reader, false)
	} else if cur.rx != nil {
		it.setStall(&cur.rx.reader, false)
	}
	it.peer.reading.Open()
	it.peer.releaseAll()
	if cur.c.Role == RoleUnclaimed {
		if it.plan.closeBeforeClaim {
			it.end()
		}
		it.claimLast(cur)
	}
	if it.plan.waitPeerEnd && it.plan.peer.end != endNone {
		err := it.log.Await(it.ctx, "EOF or Lost after the peer's "+it.plan.peer.end, func() bool {
			return it.log.eof != nil || it.log.lost != nil || it.log.owner.done || it.log.localEnd != ""
		})
		if err != nil {
			return err
		}
	}
	it.end()
	if err := it.awaitLost(); err != nil {
		return err
	}
	if it.upStarted.Load() {
		select {
		case <-it.upgraded:
		case <-it.ctx.Done():
			return errors.New("stuck: StartTLS did not return after the transport ended")
		}
	}
	if err := it.peer.finish(); err != nil {
		return err
	}
	if it.srv != nil {
		it.srv.Close()
	}
	it.mu.Lock()
	for _, cancel := range it.cancels {
		cancel() // every subscription ended already: this frees its context
	}
	it.mu.Unlock()
	it.checkFlushed()
	return nil
}

// claimLast claims a Detached nobody claimed: as a channel or an
// Observable, whose Lost ends the chain.
func (it *iteration) claimLast(cur link) {
	if it.plan.claimRxAtEnd {
		it.claimRx(cur.det, cur.c.Name+".rx", true)
	} else {
		it.claimEvents(cur.det, cur.c.Name+".events", true)
	}
}

// end closes or aborts this side, as planned.
func (it *iteration) end() {
	if it.plan.abortAtEnd {
		it.localAbort("Abort at the end")
	} else {
		it.localClose("Close at the end")
	}
}

// awaitLost waits for the chain's end: Lost at a protocol, or a channel
// closed (an Observable completed) after its Lost; then for every
// consumer goroutine.
func (it *iteration) awaitLost() error {
	l := it.log
	err := l.Await(it.ctx, "Lost at the chain's last owner (and its channel closed)", func() bool {
		if o := l.owner; o != nil && (o.Role == RoleChannel || o.Role == RoleRx) {
			return o.done
		}
		return l.lost != nil
	})
	if err != nil {
		return err
	}
	it.mu.Lock()
	readers := it.readers
	it.mu.Unlock()
	for _, r := range readers {
		select {
		case <-r.done:
		case <-it.ctx.Done():
			return errors.New("stuck: " + r.c.Name + " did not end: its channel was never closed (or its Observable never completed) (LC2)")
		}
	}
	return nil
}

// checkFlushed checks that the peer read everything this side wrote
// before its FIN, unless something dropped the write buffer on purpose
// (Abort, a cancelled subscription, a failed StartTLS, a reset), or the
// kernel may have (LC4: Close flushes).
func (it *iteration) checkFlushed() {
	it.mu.Lock()
	aborted := it.aborted
	it.mu.Unlock()
	p := it.peer
	if aborted || it.log.PeerReset() || !errors.Is(p.readErr, io.EOF) || it.log.rstRisk(it.kind) {
		return
	}
	it.wmu.Lock()
	wrote := it.wrote
	it.wmu.Unlock()
	if p.ourRead != wrote {
		it.log.Violationf("the peer read %d bytes then EOF, but this side wrote %d and only closed (LC4: Close flushes)", p.ourRead, wrote)
	}
}
