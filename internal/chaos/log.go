package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Role is what a consumer of a connection's events is.
type Role uint8

// The roles in an ownership chain.
const (
	// RoleProtocol is the protocol a connection starts with: ConnectionMade
	// is its first callback.
	RoleProtocol Role = iota
	// RoleAttached is a protocol given to Detached.Attach: it gets no
	// ConnectionMade.
	RoleAttached
	// RoleChannel reads an event channel (Events): Made first, Lost last,
	// then the channel is closed.
	RoleChannel
	// RoleRx subscribes to an Observable: Made first, Lost last, then the
	// Observable completes.
	RoleRx
	// RoleUnclaimed is a Detached stream nobody has claimed yet: it
	// receives nothing itself.
	RoleUnclaimed
)

// Consumer is one link of the ownership chain: a protocol, a channel, an
// Observable subscription or a Detached stream not yet claimed. Its fields
// are guarded by its Log's mutex.
type Consumer struct {
	Name string
	Role Role

	events    int  // entries recorded for it
	made      int  // Made or ConnectionMade
	eof       int  // EOF or EOFReceived
	lost      int  // Lost or ConnectionLost
	done      bool // its channel closed, or its Observable completed
	refused   bool // its claim lost: ErrAlreadySubscribed
	cancelled bool // an Observable whose context was cancelled
	paused    bool // the last flow event it got was PauseWriting
	arm       arm  // what the next DataReceived does (a protocol)
}

// arm is an action a protocol takes in its next DataReceived.
type arm struct {
	detach bool
	rest   bool // detach with the chunk's tail as rest
	split  int  // where to cut the chunk, per mille of its length
	pause  bool // PauseReading
}

// entry is one recorded event or action, for the failure report.
type entry struct {
	who  string
	what string
	off  int64
	n    int
	err  error
}

func (e entry) String() string {
	s := e.who + ":" + e.what
	if e.what == "Data" {
		s += fmt.Sprintf("[%d+%d]", e.off, e.n)
	}
	if e.err != nil {
		s += fmt.Sprintf("(%v)", e.err)
	}
	return s
}

// maxEntries bounds the recorded entries (the report shows the last ones).
const maxEntries = 400

// Log records what every consumer of one connection received, in the
// order received, and checks it as it goes: the data against the counter
// stream the peer sends, and every event against the consumer that owns
// the stream at that moment. Check runs the end-of-run invariants.
//
// Multiple goroutines may invoke methods on a Log simultaneously.
type Log struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every change

	cons       []*Consumer
	owner      *Consumer
	off        int64 // data bytes delivered, in order
	dataBroken bool  // a data check failed: later chunks are not checked
	eof        *Consumer
	eofAt      int64
	lost       *Consumer
	lostErr    error
	lostCount  int
	localEnd   string // the first local Close, Abort or cancellation
	endBefore  bool   // localEnd came before EOF and Lost
	upgradeAt  int64  // StartTLS when off reaches it (0: never)
	upgradeErr error
	upgraded   bool

	// What may hold the data back (for waits).
	readPaused bool
	stalled    bool

	// The peer's side, as its goroutines report it.
	peerWritten int64
	peerIdle    bool   // waiting at a gate, or done writing
	peerEnd     string // how its writes ended: fin, reset, truncate, failed
	peerReset   bool   // it reset (or truncated) the connection

	entries    []entry
	violations []string
}

// NewLog returns an empty log; upgradeAt > 0 is the offset at which the
// consumer runs StartTLS.
func NewLog(upgradeAt int64) *Log {
	return &Log{changed: make(chan struct{}), upgradeAt: upgradeAt}
}

// changedLocked wakes every waiter. mu is held.
func (l *Log) changedLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// errBroken is what a wait returns once an invariant broke: the
// iteration stops there (what it waited for may never come).
var errBroken = errors.New("an invariant broke")

// Await waits until cond, evaluated with the log's mutex held, is true;
// it returns an error naming what when ctx ends first, and errBroken once
// an invariant broke.
func (l *Log) Await(ctx context.Context, what string, cond func() bool) error {
	for {
		l.mu.Lock()
		ok, broken, ch := cond(), len(l.violations) > 0, l.changed
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case broken:
			return errBroken
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("stuck: no %s within the iteration's timeout", what)
		}
	}
}

// NewConsumer adds a link to the chain; it does not own the stream yet.
func (l *Log) NewConsumer(name string, role Role) *Consumer {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &Consumer{Name: name, Role: role}
	l.cons = append(l.cons, c)
	return c
}

// Count returns the number of events c received.
func (l *Log) Count(c *Consumer) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return c.events
}

// SetOwner hands the stream to c: from now on only c may receive events.
func (l *Log) SetOwner(c *Consumer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(entry{who: c.Name, what: "owns"})
	l.owner = c
	l.changedLocked()
}

// Owner returns the consumer that owns the stream.
func (l *Log) Owner() *Consumer {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.owner
}

// Violationf records a broken invariant.
func (l *Log) Violationf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.violationLocked(fmt.Sprintf(format, args...))
}

func (l *Log) violationLocked(s string) {
	l.violations = append(l.violations, s)
	l.changedLocked()
}

func (l *Log) addLocked(e entry) {
	if len(l.entries) == maxEntries {
		l.entries = append(l.entries[:0], l.entries[maxEntries/2:]...)
	}
	l.entries = append(l.entries, e)
}

// receiveLocked records that c received what, checking that c owns the
// stream, that nothing follows Lost, and that a channel or Observable
// starts with Made. mu is held.
func (l *Log) receiveLocked(c *Consumer, what string, e entry) {
	e.who, e.what = c.Name, what
	l.addLocked(e)
	c.events++
	switch {
	case c.refused:
		l.violationLocked(fmt.Sprintf("%s: %s after its claim was refused", c.Name, what))
	case l.lost != nil:
		l.violationLocked(fmt.Sprintf("%s: %s after Lost (delivered to %s)", c.Name, what, l.lost.Name))
	case c != l.owner:
		l.violationLocked(fmt.Sprintf("%s: %s, but %s owns the stream (a consumer got an event after handing it over, or before it was handed one)", c.Name, what, ownerName(l.owner)))
	case c.events == 1 && what != "Made" && (c.Role == RoleChannel || c.Role == RoleRx) && !c.cancelled:
		l.violationLocked(fmt.Sprintf("%s: first event %s, want Made (LC1)", c.Name, what))
	}
	l.changedLocked()
}

func ownerName(c *Consumer) string {
	if c == nil {
		return "nobody"
	}
	return c.Name
}

// Made records Made (or ConnectionMade).
func (l *Log) Made(c *Consumer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.made++
	if c.made > 1 || c.Role == RoleAttached || c.Role == RoleUnclaimed {
		l.violationLocked(fmt.Sprintf("%s: Made number %d (role %d): want exactly one, and none for a protocol given to Attach (LC1)", c.Name, c.made, c.Role))
	}
	l.receiveLocked(c, "Made", entry{})
}

// Data records a chunk and checks it against the counter stream at the
// offset delivered so far: a chunk from elsewhere is a gap, a repeat or
// foreign bytes. It reports whether this chunk brought the offset to the
// StartTLS point.
func (l *Log) Data(c *Consumer, b []byte) (upgradeNow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.made == 0 && c.Role == RoleProtocol {
		l.violationLocked(fmt.Sprintf("%s: DataReceived before ConnectionMade (LC1)", c.Name))
	}
	if l.eof != nil {
		l.violationLocked(fmt.Sprintf("%s: Data after EOF (RD1)", c.Name))
	}
	if len(b) == 0 {
		l.violationLocked(fmt.Sprintf("%s: empty Data", c.Name))
	}
	l.receiveLocked(c, "Data", entry{off: l.off, n: len(b)})
	// Past the agreed point of a StartTLS that failed (a Close or Abort
	// came first), the peer's TLS records arrive as plain Data.
	tlsInPlain := l.upgradeAt > 0 && l.off >= l.upgradeAt && l.upgradeErr != nil
	if !l.dataBroken && !tlsInPlain {
		if i := Mismatch(b, l.off); i >= 0 {
			l.dataBroken = true
			l.violationLocked(l.describeMismatch(c, b, i))
		}
	}
	l.off += int64(len(b))
	return l.upgradeAt > 0 && l.off == l.upgradeAt
}

// describeMismatch says what a chunk that is not the stream at l.off is.
func (l *Log) describeMismatch(c *Consumer, b []byte, i int) string {
	where := fmt.Sprintf("%s: %d bytes at stream offset %d differ from byte %d on (RD1)", c.Name, len(b), l.off, l.off+int64(i))
	from, ok := Locate(b)
	switch {
	case len(b) < 7:
		return where + " (too short to tell where they come from)"
	case !ok:
		return where + ": not a piece of the peer's stream"
	case from < l.off:
		return fmt.Sprintf("%s: they are bytes %d..%d again: %d bytes repeated", where, from, from+int64(len(b)), l.off-from)
	default:
		return fmt.Sprintf("%s: they are bytes %d..%d: bytes %d..%d were lost", where, from, from+int64(len(b)), l.off, from)
	}
}

// EOF records EOF (or EOFReceived).
func (l *Log) EOF(c *Consumer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.eof++
	if l.eof != nil {
		l.violationLocked(fmt.Sprintf("%s: a second EOF (the first went to %s) (RD1)", c.Name, l.eof.Name))
	} else {
		l.eof, l.eofAt = c, l.off
	}
	l.receiveLocked(c, "EOF", entry{off: l.off})
}

// Lost records Lost (or ConnectionLost).
func (l *Log) Lost(c *Consumer, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.lost++
	l.lostCount++
	if l.lost != nil {
		l.violationLocked(fmt.Sprintf("%s: Lost number %d in the chain (the first went to %s): want exactly one (LC2)", c.Name, l.lostCount, l.lost.Name))
	}
	l.receiveLocked(c, "Lost", entry{err: err})
	if l.lost == nil {
		l.lost, l.lostErr = c, err
	}
}

// Flow records PauseWriting or ResumeWriting: each consumer's alternate,
// starting with PauseWriting (WR4).
func (l *Log) Flow(c *Consumer, paused bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	what := "ResumeWriting"
	if paused {
		what = "PauseWriting"
	}
	if c.paused == paused {
		l.violationLocked(fmt.Sprintf("%s: %s does not alternate (WR4)", c.Name, what))
	}
	c.paused = paused
	l.receiveLocked(c, what, entry{})
}

// Refused records a claim that lost (ErrAlreadySubscribed): it must be
// the consumer's only event.
func (l *Log) Refused(c *Consumer, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(entry{who: c.Name, what: "refused", err: err})
	if c.events > 0 || c == l.owner {
		l.violationLocked(fmt.Sprintf("%s: claim refused (%v) after it received %d events or while owning the stream", c.Name, err, c.events))
	}
	c.refused = true
	l.changedLocked()
}

// Done records that c's channel was closed, or its Observable completed.
func (l *Log) Done(c *Consumer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(entry{who: c.Name, what: "done"})
	if c.lost == 0 && !c.refused && !c.cancelled {
		l.violationLocked(fmt.Sprintf("%s: channel closed or Observable completed without Lost (LC2)", c.Name))
	}
	c.done = true
	l.changedLocked()
}
