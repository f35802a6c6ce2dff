package transport

import (
	"container/list"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/internal/sock"
)

// A ListenTLS server accepts in three steps (DESIGN, "TLS (issue 5)"):
//
//  1. A new connection must send its first byte (the start of its
//     ClientHello) within the hello timeout. On Linux the kernel holds a
//     TCP connection until then (TCP_DEFER_ACCEPT); one accepted with
//     nothing to read yet waits in the silent set, holding no handshake
//     slot, with a goroutine parked on its descriptor. The set holds at
//     most maxSilent: a newcomer closes the member silent longest.
//  2. It then takes one of maxHandshakes slots for its handshake,
//     bounded by the handshake timeout.
//  3. It keeps the slot until Accept (or Transports, or Observable) has
//     taken it. A consumer that stops taking connections therefore stops
//     the handshakes: at most maxHandshakes finished ones wait, and the
//     kernel's backlog holds the rest.
//
// A silent peer costs no slot, and a burst of them only pushes each other
// out of the set; a peer that trickles its handshake (slowloris) holds a
// slot for at most the handshake timeout.
const (
	// maxHandshakes bounds the connections a server holds after their
	// first byte: handshaking, or handshaken and waiting to be taken.
	maxHandshakes = 128
	// maxSilent bounds the connections it holds before their first byte.
	maxSilent = 128
)

// tlsAcceptor is a ListenTLS server's TLS side: the silent set, the
// handshake slots, and the failures.
type tlsAcceptor struct {
	srv    *Server
	opts   tlsOptions      // the server side's
	ctx    context.Context // ends when the server stops accepting
	cancel context.CancelFunc
	slots  chan struct{} // one per connection after its first byte, until handed out
	wg     sync.WaitGroup
	failed atomic.Int64

	mu      sync.Mutex
	silent  list.List     // of *hello, oldest first
	left    chan struct{} // closed (and replaced) when one leaves silent
	stopped bool
}

// hello is a connection in the silent set. It stays there after its
// first byte, until it has a slot, but is no longer evicted.
type hello struct {
	c *conn

	// Guarded by the acceptor's mu.
	elem    *list.Element // nil once it left
	spoke   bool          // its first byte came (or is there to read)
	evicted bool
}

func newTLSAcceptor(s *Server) *tlsAcceptor {
	a := &tlsAcceptor{
		srv:   s,
		opts:  s.cfg.tls,
		slots: make(chan struct{}, maxHandshakes),
		left:  make(chan struct{}),
	}
	a.opts.server = true
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a
}

// helloTimeout is how long a new connection may stay silent.
func (a *tlsAcceptor) helloTimeout() time.Duration { return min(a.opts.hello, a.opts.handshake) }

// accept takes c, just accepted, on the accept goroutine. It reports
// false, with c aborted, when the server stops first.
func (a *tlsAcceptor) accept(c *conn) bool {
	var first [1]byte
	n, err := c.fd.TryReadInto(first[:])
	switch {
	case errors.Is(err, sock.ErrWouldBlock):
		return a.admitSilent(c)
	case err != nil:
		a.fail(c, c.opError("read", err))
		return true
	case n == 0:
		a.fail(c, c.opError("read", io.EOF))
		return true
	}
	select {
	case a.slots <- struct{}{}:
	case <-a.ctx.Done():
		c.Abort()
		return false
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.serve(c, first[:])
	}()
	return true
}

// serve runs c's handshake, prefix being what was read of it, in the
// slot c holds, then hands c out; the slot is free again once c is taken
// or has failed.
func (a *tlsAcceptor) serve(c *conn, prefix []byte) {
	defer func() { <-a.slots }()
	if err := c.handshake(a.ctx, a.opts, a.opts.config, prefix); err != nil {
		a.fail(c, err)
		return
	}
	c.tlsOn.Store(true)
	a.srv.hand(c)
}

// admitSilent puts c, which sent nothing yet, in the silent set. When the
// set is full it closes the member silent longest; when every member has
// spoken (each waits for a slot), it waits for one to leave. It reports
// false, with c aborted, when the server stops first.
func (a *tlsAcceptor) admitSilent(c *conn) bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(a.helloTimeout()))
	for {
		a.mu.Lock()
		if a.stopped {
			a.mu.Unlock()
			c.Abort()
			return false
		}
		var victim *hello
		if a.silent.Len() >= maxSilent {
			if victim = a.evictableLocked(); victim == nil {
				left := a.left
				a.mu.Unlock()
				select {
				case <-left:
					continue
				case <-a.ctx.Done():
					c.Abort()
					return false
				}
			}
			victim.evicted = true
			a.removeLocked(victim)
		}
		h := &hello{c: c}
		h.elem = a.silent.PushBack(h)
		a.wg.Add(1)
		a.mu.Unlock()
		if victim != nil {
			victim.c.Abort() // its goroutine reports it
		}
		go a.awaitHello(h)
		return true
	}
}

// evictableLocked returns the member silent longest, if one is: a member
// whose first byte is there to read, its goroutine not yet having
// taken it, is not. a.mu is held.
func (a *tlsAcceptor) evictableLocked() *hello {
	for e := a.silent.Front(); e != nil; e = e.Next() {
		h := e.Value.(*hello)
		if h.spoke {
			continue
		}
		if h.c.fd.Readable() {
			h.spoke = true
			continue
		}
		return h
	}
	return nil
}

// removeLocked takes h out of the silent set. a.mu is held.
func (a *tlsAcceptor) removeLocked(h *hello) {
	if h.elem == nil {
		return
	}
	a.silent.Remove(h.elem)
	h.elem = nil
	close(a.left)
	a.left = make(chan struct{})
}

// leave takes h out of the silent set.
func (a *tlsAcceptor) leave(h *hello) {
	a.mu.Lock()
	a.removeLocked(h)
	a.mu.Unlock()
}

// awaitHello is a silent member's goroutine: it waits for the first byte
// (the read deadline is the hello timeout), then for a slot, then serves
// the connection.
func (a *tlsAcceptor) awaitHello(h *hello) {
	defer a.wg.Done()
	var first [1]byte
	n, err := h.c.fd.ReadInto(first[:], false)
	a.mu.Lock()
	evicted, stopped := h.evicted, a.stopped
	h.spoke = true
	a.mu.Unlock()
	switch {
	case stopped:
		a.leave(h)
		h.c.Abort()
		return
	case evicted:
		a.fail(h.c, ErrHelloDisplaced)
		return
	case errors.Is(err, sock.ErrInterrupted):
		err = ErrHelloTimeout
	case err != nil:
		err = h.c.opError("read", err)
	case n == 0:
		err = h.c.opError("read", io.EOF)
	}
	if err != nil {
		a.leave(h)
		a.fail(h.c, err)
		return
	}
	select {
	case a.slots <- struct{}{}:
	case <-a.ctx.Done():
		a.leave(h)
		h.c.Abort()
		return
	}
	a.leave(h)
	_ = h.c.fd.Resume() // the hello timeout no longer applies
	a.serve(h.c, first[:])
}

// fail closes c, whose handshake failed with err, counts it and reports
// it to the WithHandshakeFailures hook, unless the server is stopping
// (which cut it short). A panic in the hook is recovered and dropped: it
// concerns the one connection already closed.
func (a *tlsAcceptor) fail(c *conn, err error) {
	c.Abort()
	if a.ctx.Err() != nil {
		return
	}
	a.failed.Add(1)
	if fn := a.opts.onFailure; fn != nil {
		defer func() { _ = recover() }()
		fn(c.info.peer, err)
	}
}

// stop ends accepting: the waits for a slot or a silent member's room
// end, and every silent member is closed. The server's accept goroutine
// then waits for a.wg.
func (a *tlsAcceptor) stop() {
	a.cancel()
	a.mu.Lock()
	a.stopped = true
	var silent []*conn
	for e := a.silent.Front(); e != nil; e = e.Next() {
		silent = append(silent, e.Value.(*hello).c)
	}
	a.mu.Unlock()
	for _, c := range silent {
		c.Abort()
	}
}
