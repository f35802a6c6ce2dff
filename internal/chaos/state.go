package chaos

import (
	"context"
	"fmt"
)

// What the Log knows beside the events: local ends, what holds the data
// back, the peer's side, and the driver's arms; and the waits on them.

// Cancelled records that c's subscription context was cancelled (c may
// then complete without Lost).
func (l *Log) Cancelled(c *Consumer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.cancelled = true
	l.localEndLocked("cancel " + c.Name)
}

// LocalEnd records a local Close or Abort (or a failed StartTLS, which
// closes): from then on, data may be dropped, but only at the end.
func (l *Log) LocalEnd(what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.localEndLocked(what)
}

func (l *Log) localEndLocked(what string) {
	l.addLocked(entry{who: "local", what: what, off: l.off})
	if l.localEnd == "" {
		l.localEnd, l.endBefore = what, l.eof == nil && l.lost == nil
	}
	l.changedLocked()
}

// Note records an action, for the report.
func (l *Log) Note(who, what string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(entry{who: who, what: what, off: l.off})
}

// SetReadPaused and SetStalled record what holds data back.
func (l *Log) SetReadPaused(p bool) { l.set(&l.readPaused, p, "readPaused") }

// SetStalled records that the owning channel or Observable consumer stopped
// (or resumed) receiving.
func (l *Log) SetStalled(s bool) { l.set(&l.stalled, s, "stalled") }

func (l *Log) set(f *bool, v bool, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*f = v
	l.addLocked(entry{who: "state", what: fmt.Sprintf("%s=%v", name, v)})
	l.changedLocked()
}

// Upgraded records StartTLS's outcome.
func (l *Log) Upgraded(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.upgraded, l.upgradeErr = true, err
	l.addLocked(entry{who: "local", what: "StartTLS done", err: err})
	if err != nil && l.localEnd == "" && !l.peerReset {
		l.violationLocked(fmt.Sprintf("StartTLS failed, with nothing closing or resetting the connection: %v", err))
	}
	if err != nil {
		l.localEndLocked("StartTLS failed")
	}
}

// PeerWrote records n more bytes written by the peer.
func (l *Log) PeerWrote(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peerWritten += int64(n)
	l.changedLocked()
}

// PeerIdle records whether the peer's writer waits (at a gate, for the
// TLS upgrade, or for good).
func (l *Log) PeerIdle(idle bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.peerIdle = idle
	l.changedLocked()
}

// PeerReleased closes gate, letting the peer's writer go on: it is busy
// from then on, unless its writes already ended.
func (l *Log) PeerReleased(gate chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(gate)
	if l.peerEnd == "" {
		l.peerIdle = false
		l.changedLocked()
	}
}

// PeerWaits records that the peer's writer waits for gate: idle, unless
// the gate was already released (both under mu, so a wait for quiet
// never sees a released writer idle).
func (l *Log) PeerWaits(gate chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-gate:
	default:
		l.peerIdle = true
		l.changedLocked()
	}
}

// PeerEnded records how the peer's writes ended (the first end counts;
// a reset after it still counts as one).
func (l *Log) PeerEnded(how string, reset bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.peerEnd == "" {
		l.peerEnd = how
	}
	l.peerIdle = true
	l.peerReset = l.peerReset || reset
	l.addLocked(entry{who: "peer", what: how, off: l.peerWritten})
	l.changedLocked()
}

// quietLocked reports whether no more data can come for now: the stream
// ended, is held back by this side, or everything the peer wrote arrived
// and the peer waits. mu is held.
func (l *Log) quietLocked() bool {
	return l.eof != nil || l.lost != nil || l.localEnd != "" || l.readPaused || l.stalled ||
		l.owner == nil || l.owner.Role == RoleUnclaimed || (l.peerIdle && l.off >= l.peerWritten)
}

// AwaitProgress waits until at least off bytes were delivered, or no more
// can come for now (see quietLocked).
func (l *Log) AwaitProgress(ctx context.Context, off int64) error {
	return l.Await(ctx, fmt.Sprintf("delivery up to byte %d", off), func() bool {
		return l.off >= off || l.quietLocked()
	})
}

// AwaitQuiet waits until no more data can come for now.
func (l *Log) AwaitQuiet(ctx context.Context) error {
	return l.Await(ctx, "quiet stream", l.quietLocked)
}

// setArm sets what c's next DataReceived does.
func (l *Log) setArm(c *Consumer, a arm) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.arm = a
}

// disarm takes back c's arm and reports whether it was still pending.
func (l *Log) disarm(c *Consumer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	pending := c.arm != arm{}
	c.arm = arm{}
	return pending
}

// takeArm returns and clears c's arm.
func (l *Log) takeArm(c *Consumer) arm {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := c.arm
	c.arm = arm{}
	return a
}

// HasLost reports whether Lost reached a consumer.
func (l *Log) HasLost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost != nil
}

// PeerReset reports whether the peer reset (or truncated) the connection.
func (l *Log) PeerReset() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.peerReset
}

// rstRisk reports whether this side's close may have reset the
// connection, which drops what the peer had not read yet: a plain socket
// closed with unread data sends RST (Linux), and a peer whose write
// failed met one. A TLS close reads to the peer's close_notify first.
func (l *Log) rstRisk(kind Kind) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	tlsClose := kind.TLS || kind.StartTLS && l.upgraded && l.upgradeErr == nil
	return l.peerEnd == endFailed || !tlsClose && l.off < l.peerWritten
}
