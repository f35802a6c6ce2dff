package transport

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/sink"
)

// errUpgrading is what WriteEOF returns while StartTLS runs.
var errUpgrading = errors.New("transport: WriteEOF during StartTLS")

// errPeerEOF is what StartTLS returns once the peer has sent EOF.
var errPeerEOF = fmt.Errorf("%w: the peer sent EOF", ErrNotUpgradable)

// upgrade is one StartTLS: whoever runs it (the read goroutine, or the
// caller when it is the read goroutine or there is none yet) wins run.
type upgrade struct {
	ctx      context.Context
	opts     tlsOptions
	run      atomic.Bool
	finished chan struct{} // closed once it succeeded or failed
	err      error         // set before finished closes
	held     [][]byte      // writes made while it runs; guarded by c.mu
}

// startTLS is StartTLS on c.
func (c *conn) startTLS(ctx context.Context, o tlsOptions) error {
	up := &upgrade{ctx: ctx, opts: o, finished: make(chan struct{})}
	c.mu.Lock()
	if err := c.upgradableLocked(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.up, c.switching = up, true
	c.noRead.Store(true)
	h, claimed := c.handler, c.q.Claimed()
	c.mu.Unlock()
	if !claimed || (h != nil && h.OnReader()) {
		c.tlsOn.Store(true)
		c.Unloop()               // on a loop, this goroutine leaves it with t
		c.runUpgrade(up, h, nil) // nobody reads meanwhile
		return up.err
	}
	if h != nil {
		h.Upgrading() // a delivery waiting for a consumer lets the read goroutine go
	}
	// The read goroutine runs it, at an event boundary: a read that waits
	// is interrupted first, so that the interrupt cannot reach the
	// handshake's reads (runUpgrade undoes it once it sees tlsOn).
	_ = c.fd.Interrupt()
	c.tlsOn.Store(true)
	c.signal()
	c.Unloop() // a loop does not run handshakes: a read goroutine does
	select {
	case <-up.finished:
	case <-c.Done():
		// Ended before anyone ran it: on a loop, an Abort between the
		// check above and Unloop took the transport off its loop, and no
		// read goroutine will ever start to run (or abandon) it.
		c.abandonUpgrade()
		<-up.finished
	case <-ctx.Done():
		if up.run.CompareAndSwap(false, true) {
			c.endUpgrade(up, ctx.Err())
		}
		<-up.finished
	}
	return up.err
}

// upgradableLocked returns why c cannot start TLS now, if it cannot.
// c.mu is held.
func (c *conn) upgradableLocked() error {
	switch {
	case c.state != stateOpen:
		return c.deadErr
	case c.sec != nil || c.up != nil:
		return fmt.Errorf("%w: it is already TLS", ErrNotUpgradable)
	case c.eofRead:
		return errPeerEOF
	case c.eofWritten:
		return ErrEOFWritten
	}
	return nil
}

// upgradeReader is where the read goroutine leaves plain reading: it runs
// a pending StartTLS (chunk being a plain read it had not delivered),
// then reads through TLS (a closing transport only waits there for the
// peer's close_notify), unless the upgrade failed.
func (c *conn) upgradeReader(h sink.Handler, chunk []byte) {
	c.readingTLS = true
	c.mu.Lock()
	up := c.up
	c.mu.Unlock()
	if up != nil {
		c.runUpgrade(up, h, chunk)
	}
	c.mu.Lock()
	s := c.sec
	c.mu.Unlock()
	if s != nil {
		c.tlsReadLoop(h)
	}
}

// runUpgrade runs up once: the handshake, with what was read and not
// taken yet as its first input (in the channel, in the handler h's
// hands, or chunk, read last), then the writes held meanwhile. A second
// caller waits for the first.
func (c *conn) runUpgrade(up *upgrade, h sink.Handler, chunk []byte) {
	if !up.run.CompareAndSwap(false, true) {
		<-up.finished
		return
	}
	_ = c.fd.Resume()
	prefix := c.q.TakeBack()
	if h != nil {
		prefix = append(prefix, h.TakeBack()...)
	}
	prefix = append(prefix, chunk...)
	err := c.handshake(up.ctx, up.opts, up.opts.config, prefix)
	if err == nil {
		err = c.flushHeld()
	}
	c.endUpgrade(up, err)
}

// flushHeld encrypts the writes held while the handshake ran, in order;
// new writes are held until none is left.
func (c *conn) flushHeld() error {
	for {
		c.mu.Lock()
		held, s := c.up.held, c.sec
		c.up.held = nil
		if len(held) == 0 {
			c.up = nil
			c.mu.Unlock()
			return nil
		}
		n := 0
		for _, b := range held {
			n += len(b)
		}
		tr := c.flow.Sub(n)
		c.flowLocked(tr)
		if tr != flow.Unchanged {
			c.flowNoted.Store(true)
		}
		c.mu.Unlock()
		for _, b := range held {
			if _, err := s.tc.Write(b); err != nil {
				return err
			}
		}
		c.noteFlow()
	}
}

// endUpgrade records up's outcome: on failure c closes, with err as
// Lost's error (asyncio's start_tls closes the transport too).
func (c *conn) endUpgrade(up *upgrade, err error) {
	c.mu.Lock()
	c.up, c.switching = nil, false
	c.mu.Unlock()
	if err != nil {
		c.shut(err)
		c.q.Release()
	}
	up.err = err
	close(up.finished)
}

// abandonUpgrade fails a StartTLS that the read goroutine, ending, will
// not run, or that nobody ran before the transport ended.
func (c *conn) abandonUpgrade() {
	c.mu.Lock()
	up := c.up
	err := c.deadErr
	c.mu.Unlock()
	if up != nil && up.run.CompareAndSwap(false, true) {
		if err == nil {
			err = errClosedLocally
		}
		c.endUpgrade(up, err)
	}
}
