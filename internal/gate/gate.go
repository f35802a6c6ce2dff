// Package gate is the channel gate behind Writable and Drain: one channel,
// closed while the writer may write, replaced when it pauses. Waiters
// select on it and their context; ending the gate wakes them all with the
// transport's error.
package gate

import (
	"context"
	"sync"
)

// Gate is open (writable) or shut (paused); once ended it stays open and
// waiters get its error.
//
// Multiple goroutines may invoke methods on a Gate simultaneously.
type Gate struct {
	mu    sync.Mutex
	ch    chan struct{} // closed while open
	ended bool
	err   error
}

// closedCh is shared by every open gate that has not been shut yet.
var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// New returns an open gate.
func New() *Gate { return &Gate{ch: closedCh} }

// C returns a channel that is closed while the gate is open.
func (g *Gate) C() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ch
}

// Shut closes the gate; it does nothing on an ended gate.
func (g *Gate) Shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.ended && g.ch == closedCh {
		g.ch = make(chan struct{})
	}
}

// Open opens the gate, waking the waiters.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open()
}

func (g *Gate) open() {
	if g.ch != closedCh {
		close(g.ch)
		g.ch = closedCh
	}
}

// End opens the gate for good; from now on Wait returns err (which must not
// be nil). Only the first End counts.
func (g *Gate) End(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.ended {
		g.ended, g.err = true, err
	}
	g.open()
}

// Wait returns nil at once when the gate is open and not ended, waits for
// it to open otherwise, returns the end error once the gate has ended,
// and ctx.Err() when ctx ends first. Wait changes nothing.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch, ended, err := g.ch, g.ended, g.err
	g.mu.Unlock()
	if ended {
		return err
	}
	if ch == closedCh {
		return nil
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return g.err
	}
	return nil
}
