package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/stream"
)

// Server accepts stream transports on a listening socket (asyncio's
// Server, from create_server). Once serving (at once, unless listened
// WithStartServing(false): see StartServing) it accepts in the background
// and hands each new transport to one Accept call; until then at most one
// accepted connection waits (on a ListenTLS server, at most 128 handshaking or
// handshaken ones and 128 not yet handshaking: see ListenTLS), and the
// kernel's backlog holds the rest.
//
// Multiple goroutines may invoke methods on a Server simultaneously.
type Server struct {
	ln       net.Listener
	cfg      resolved
	accepted chan Transport // closed when the accept goroutine ends
	consumer atomic.Int32   // who takes the accepted transports: Accept, Transports or Observable
	total    atomic.Int64   // transports accepted
	stop     chan struct{}  // closed when the server stops accepting
	stopOnce sync.Once
	loopDone chan struct{} // closed when the accept goroutine has ended

	tls *tlsAcceptor // a ListenTLS server's handshakes (tls_accept.go)

	mu      sync.Mutex
	conns   map[*conn]struct{} // open transports, removed when they close
	ending  map[*conn]struct{} // closed, until their Lost is delivered
	lostYet map[*conn]struct{} // Lost delivered, until onDone has run
	closed  Stats              // the counters of the transports that ended
	changed chan struct{}      // closed and replaced whenever one closes
	err     error              // why accepting ended, if it failed
	started bool               // the accept goroutine was started
	stopped bool               // stopAccepting has begun: it never starts now
	onShut  []func()           // RegisterOnShutdown's functions
}

// Listen listens on addr on the named network ("tcp", "tcp4", "tcp6" or
// "unix") and starts accepting, unless WithStartServing(false) says to
// wait for StartServing. ctx bounds setting up the listener only. The
// options apply to every accepted transport; WithReusePort and
// WithStartServing apply to the server.
func Listen(ctx context.Context, network, addr string, opts ...Option) (*Server, error) {
	return listen(ctx, kListen, network, addr, nil, opts)
}

// listen is Listen, or ListenTLS (k) with tc.
func listen(ctx context.Context, k kinds, network, addr string, tc *tls.Config, opts []Option) (*Server, error) {
	cfg, err := resolve(opts, k)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		cfg.tls.config = tc
	}
	if err := checkStreamNetwork(network); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: socketControl(cfg), KeepAlive: goKeepAlive(cfg)}
	ln, err := lc.Listen(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return newServer(ln, cfg), nil
}

// newServer serves ln: Listen's and FromListener's server.
func newServer(ln net.Listener, cfg resolved) *Server {
	s := &Server{
		ln:       ln,
		cfg:      cfg,
		accepted: make(chan Transport),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
		conns:    make(map[*conn]struct{}),
		ending:   make(map[*conn]struct{}),
		lostYet:  make(map[*conn]struct{}),
		changed:  make(chan struct{}),
	}
	if cfg.tls.config != nil {
		s.tls = newTLSAcceptor(s)
		deferAccept(ln, s.tls.helloTimeout())
	}
	if !cfg.noServe {
		s.startServing()
	}
	return s
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Accept waits for the next connection and returns it as a Transport that
// does not read until its events are claimed. It returns ErrServerClosed
// once the server is closed, the listener's error if accepting failed, and
// ctx.Err() when ctx ends first; ctx bounds the wait only. The first
// Accept starts serving a server listened WithStartServing(false).
//
// The accepted transports have one consumer: Accept calls (any number,
// concurrently), or Transports, or Observable. Accept after either of the
// others returns stream.ErrAlreadySubscribed.
func (s *Server) Accept(ctx context.Context) (Transport, error) {
	if !s.claim(takeAccept) {
		return nil, stream.ErrAlreadySubscribed
	}
	s.startServing()
	select {
	case c, ok := <-s.accepted:
		if ok {
			return c, nil
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	return nil, ErrServerClosed
}

func (s *Server) acceptLoop() {
	defer close(s.loopDone)
	defer close(s.accepted)
	if s.tls != nil {
		defer s.tls.wg.Wait()
	}
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.stopping() {
				return
			}
			if backoff = nextBackoff(backoff); isTemporary(err) {
				if !s.sleep(backoff) {
					return
				}
				continue
			}
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		backoff = 0
		remote := nc.RemoteAddr()
		c, err := wrapConn(nc, s.cfg)
		switch {
		case err != nil: // that connection only: report it and go on
			reportError(s.cfg.onError, fmt.Errorf("transport: accepted connection from %v dropped: %w", remote, err))
		case s.tls != nil:
			if !s.tls.accept(c) {
				return
			}
		case !s.hand(c):
			return
		}
	}
}

// hand tracks c and hands it to the consumer; it reports false, with c
// aborted, when the server stops accepting first.
func (s *Server) hand(c *conn) bool {
	s.track(c)
	select {
	case s.accepted <- c:
		return true
	case <-s.stop:
		c.Abort()
		return false
	}
}

// isTemporary reports whether an accept error may go away (EMFILE,
// ECONNABORTED and the like), as net/http judges it.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, 5*time.Millisecond), time.Second)
}

func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *Server) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// track records c as open until its descriptor closes, and its counters
// in the server's once its Lost is delivered (at once for a transport
// whose events were never claimed: it delivers none). shut closes c.doneC
// before it calls onDone, so the read goroutine may deliver Lost first:
// whichever of the two comes second settles c.
func (s *Server) track(c *conn) {
	s.mu.Lock()
	s.total.Add(1)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.onDone = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.conns, c)
		close(s.changed)
		s.changed = make(chan struct{})
		if _, lost := s.lostYet[c]; lost || !c.q.Claimed() {
			delete(s.lostYet, c)
			s.closed = s.closed.Add(c.Stats())
			return
		}
		s.ending[c] = struct{}{}
	}
	c.onLost = func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.ending[c]; !ok {
			s.lostYet[c] = struct{}{} // onDone settles it
			return
		}
		delete(s.ending, c)
		s.closed = s.closed.Add(c.Stats())
	}
}

// stopAccepting closes the listener and waits for the accept goroutine.
func (s *Server) stopAccepting() error {
	var err error
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopped = true
		started := s.started
		s.mu.Unlock()
		close(s.stop)
		if s.tls != nil {
			s.tls.stop()
		}
		err = s.ln.Close()
		if !started { // no accept goroutine to close them
			close(s.accepted)
			close(s.loopDone)
		}
	})
	<-s.loopDone
	return err
}

// Close stops accepting and aborts every transport the server accepted
// that is still open (like net/http's Server.Close); each delivers its
// Lost. It returns the listener's close error. A second Close does nothing.
func (s *Server) Close() error {
	err := s.stopAccepting()
	s.mu.Lock()
	open := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		c.Abort()
	}
	return err
}

// RegisterOnShutdown registers f to be called when Shutdown begins, as
// net/http's Server.RegisterOnShutdown: every Shutdown call, once the
// listener is closed, starts each registered f in its own goroutine
// (Close calls none). f should tell the live transports to finish, for
// instance by writing a goodbye and closing them, and return without
// waiting for them: Shutdown waits. A function registered after a
// Shutdown began runs only at a later Shutdown.
//
// RegisterOnShutdown may be called from any goroutine.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShut = append(s.onShut, f)
	s.mu.Unlock()
}

// Shutdown stops accepting (closing the listener first), starts the
// functions registered with RegisterOnShutdown, then waits for every
// transport the server accepted to close on its own. It returns nil once
// they all have, or ctx.Err() when ctx ends first, leaving them open
// (call Close to abort them).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.stopAccepting()
	s.mu.Lock()
	for _, f := range s.onShut {
		go f()
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		n, changed := len(s.conns), s.changed
		s.mu.Unlock()
		if n == 0 {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
