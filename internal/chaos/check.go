package chaos

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rxnet/rxnet/adapters"
)

// Check runs the invariants that can only be judged once the connection
// has ended (every consumer finished, the peer done) and returns every
// broken one, those found along the way included; nil when all hold.
//
//   - LC2: exactly one Lost across the whole ownership chain, delivered to
//     the chain's last owner, after everything else; a channel is closed
//     and an Observable completes after it. (An Observable whose context
//     was cancelled may complete without Lost.)
//   - RD1: the bytes delivered are a prefix of what the peer sent, in
//     order, once each (checked chunk by chunk as they arrive); at EOF they
//     are all of it; and when the peer sent FIN (or, over TLS, cut the
//     connection without close_notify) while nothing on this side closed,
//     aborted or cancelled the stream first, every byte arrived, and EOF
//     for a FIN.
//   - LC3: Lost's error is nil unless the peer reset the connection, a
//     StartTLS failed or a callback panicked.
func (l *Log) Check() error {
	l.mu.Lock()
	l.checkLostLocked()
	l.checkDataLocked()
	l.mu.Unlock()
	return l.Err()
}

// checkLostLocked checks LC2 and LC3. mu is held.
func (l *Log) checkLostLocked() {
	fin := l.owner
	switch {
	case fin == nil:
		l.violationLocked("nobody owns the stream at the end")
		return
	case l.lostCount == 0 && !fin.cancelled:
		l.violationLocked(fmt.Sprintf("no Lost reached any consumer; the last owner is %s (LC2)", fin.Name))
	case l.lost != nil && l.lost != fin:
		l.violationLocked(fmt.Sprintf("Lost went to %s, but the last owner is %s (LC2)", l.lost.Name, fin.Name))
	}
	if (fin.Role == RoleChannel || fin.Role == RoleRx) && !fin.done {
		l.violationLocked(fmt.Sprintf("%s: not closed (or completed) after Lost (LC2)", fin.Name))
	}
	var pe *adapters.PanicError
	if l.lostErr != nil && !l.peerReset && l.upgradeErr == nil && !errors.As(l.lostErr, &pe) {
		l.violationLocked(fmt.Sprintf("Lost(%v), but nothing failed: want nil (LC3)", l.lostErr))
	}
	if errors.As(l.lostErr, &pe) {
		l.violationLocked(fmt.Sprintf("a callback of the suite panicked: %v\n%s", pe.Value, pe.Stack))
	}
}

// checkDataLocked checks that the data is complete where nothing could
// drop it: no local close first, and no reset from the peer (a reset
// discards what the kernel holds unread, even after the peer's FIN).
// mu is held.
func (l *Log) checkDataLocked() {
	if l.eof != nil && l.eofAt != l.peerWritten {
		l.violationLocked(fmt.Sprintf("EOF after %d bytes, but the peer sent %d before its FIN (RD1)", l.eofAt, l.peerWritten))
	}
	clean := l.localEnd == "" || !l.endBefore
	if !clean || l.peerReset {
		return
	}
	switch l.peerEnd {
	case "fin":
		if l.eof == nil {
			l.violationLocked(fmt.Sprintf("the peer sent %d bytes and FIN, nothing here closed the stream, yet no EOF reached any consumer (%d bytes did) (RD1)", l.peerWritten, l.off))
		}
	case "truncate":
		if l.off != l.peerWritten {
			l.violationLocked(fmt.Sprintf("the peer sent %d bytes and cut the connection, nothing here closed the stream, yet %d bytes were delivered (RD1)", l.peerWritten, l.off))
		}
	}
}

// Failed reports whether an invariant broke.
func (l *Log) Failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.violations) > 0
}

// Err returns the broken invariants, nil for none.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.violations) == 0 {
		return nil
	}
	return errors.New(strings.Join(l.violations, "\n"))
}

// Report describes the chain and the last entries, for a failure.
func (l *Log) Report() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "chain:")
	for _, c := range l.cons {
		fmt.Fprintf(&b, " %s(events=%d made=%d eof=%d lost=%d done=%v refused=%v)", c.Name, c.events, c.made, c.eof, c.lost, c.done, c.refused)
	}
	fmt.Fprintf(&b, "\nowner %s; delivered %d bytes; peer wrote %d and ended %q; local end %q\nlast entries:",
		ownerName(l.owner), l.off, l.peerWritten, l.peerEnd, l.localEnd)
	es := coalesce(l.entries)
	if len(es) > 80 {
		es = es[len(es)-80:]
	}
	for _, e := range es {
		b.WriteString(" " + e)
	}
	return b.String()
}

// coalesce formats entries, runs of one consumer's Data as one.
func coalesce(es []entry) []string {
	var out []string
	for i := 0; i < len(es); i++ {
		e := es[i]
		j := i
		for j+1 < len(es) && e.what == "Data" && es[j+1].what == "Data" && es[j+1].who == e.who {
			j++
		}
		if j == i {
			out = append(out, e.String())
			continue
		}
		last := es[j]
		out = append(out, fmt.Sprintf("%s:Data[%d..%d in %d chunks]", e.who, e.off, last.off+int64(last.n), j-i+1))
		i = j
	}
	return out
}
