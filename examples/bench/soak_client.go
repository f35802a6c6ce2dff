package main

// The soak's clients: each worker opens a connection, runs a few random
// operations on it and ends it at random, then starts again, until the
// soak stops. Every byte a worker sends is part of a pattern (patternAt),
// and every byte the server echoes is checked against it.
//
// Operations (soakConn):
//
//	echo   write 1 B to 64 KiB, read the echo
//	stall  write 64 KiB to 1 MiB from a second goroutine, read nothing for
//	       10 to 300 ms, then read the echo
//	flood  write 2 to 16 MiB from a second goroutine, read nothing for
//	       50 to 500 ms (the server must stop reading: its writes pause),
//	       then read the echo; one flood in three ends the connection
//	       with a reset instead, the server's buffers full
//
// Ends: a close, a half-close (CloseWrite after a last message, then the
// echo is read to EOF: the server must close once it has answered) or a
// reset (SO_LINGER 0, then close: an RST). A connection is also reset
// right after it is opened, now and then.

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// soakOpTimeout bounds each operation of a soak connection: a server
// that stops answering for that long is reported as an error.
const soakOpTimeout = time.Minute

// soakCounts counts what one server's workers did; safe for concurrent
// use.
type soakCounts struct {
	dialled, handled, echoes, stalls, floods         atomic.Int64
	closes, halfCloses, resets, bytesEchoed, errored atomic.Int64

	mu     sync.Mutex
	errors []string // the first few errors
}

// soakTally is soakCounts as figures.
type soakTally struct {
	Dialled, Handled, Echoes, Stalls, Floods int64
	Closes, HalfCloses, Resets, BytesEchoed  int64
	Errors                                   int64
	FirstErrors                              []string
}

func (c *soakCounts) tally() soakTally {
	c.mu.Lock()
	defer c.mu.Unlock()
	return soakTally{
		Dialled: c.dialled.Load(), Handled: c.handled.Load(), Echoes: c.echoes.Load(),
		Stalls: c.stalls.Load(), Floods: c.floods.Load(), Closes: c.closes.Load(),
		HalfCloses: c.halfCloses.Load(), Resets: c.resets.Load(), BytesEchoed: c.bytesEchoed.Load(),
		Errors: c.errored.Load(), FirstErrors: append([]string(nil), c.errors...),
	}
}

// fail records an error.
func (c *soakCounts) fail(err error) {
	c.errored.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errors) < 10 {
		c.errors = append(c.errors, err.Error())
	}
}

// connSet holds the open connections of a soak, so that the end of the
// churn can close them all; safe for concurrent use.
type connSet struct {
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	stopped bool
}

// add records c; it reports false once the set is stopped.
func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// stop refuses new connections and closes every open one, which ends
// whatever its worker was doing.
func (s *connSet) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	for c := range s.conns {
		c.Close()
	}
}

// isStopped reports whether stop was called.
func (s *connSet) isStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// soakWorker is one client of the soak: one connection at a time.
type soakWorker struct {
	rng    *rand.Rand
	dial   func() (net.Conn, error)
	counts *soakCounts
	conns  *connSet
}

// run churns connections until conns is stopped.
func (w *soakWorker) run() {
	for !w.conns.isStopped() {
		c, err := w.dial()
		if err != nil {
			if !w.conns.isStopped() {
				w.counts.fail(fmt.Errorf("dial: %w", err))
				time.Sleep(10 * time.Millisecond) // load pacing: no hot loop on a failing server
			}
			continue
		}
		w.counts.dialled.Add(1)
		if !w.conns.add(c) {
			c.Close()
			return
		}
		err = (&soakConn{c: c, rng: w.rng, counts: w.counts, off: w.rng.Int64N(patternPeriod)}).run()
		w.conns.remove(c)
		switch {
		case err == nil:
			w.counts.handled.Add(1)
		case !w.conns.isStopped():
			w.counts.fail(err)
		}
	}
}

// soakConn is one connection of a worker: its random operations, and the
// pattern offsets of what it wrote and read.
type soakConn struct {
	c               net.Conn
	rng             *rand.Rand
	counts          *soakCounts
	off             int64 // the pattern offset of the connection's first byte
	written, echoed int64 // bytes written; bytes read back and checked
	buf             []byte
	ended           bool // reset: c is closed
}

// run does 0 to 4 operations, then ends the connection; a reset ends it
// at once.
func (s *soakConn) run() error {
	if s.rng.IntN(20) == 0 {
		return s.reset()
	}
	for range s.rng.IntN(5) {
		var err error
		switch n := s.rng.IntN(10); {
		case n < 6:
			err = s.echo(1 + s.rng.IntN(64<<10))
		case n < 8:
			err = s.hold(64<<10+s.rng.IntN(960<<10), 10+s.rng.IntN(290), false)
		default:
			err = s.hold(2<<20+s.rng.IntN(14<<20), 50+s.rng.IntN(450), s.rng.IntN(3) == 0)
		}
		if err != nil || s.ended {
			return err
		}
	}
	switch s.rng.IntN(10) {
	case 0, 1, 2, 3:
		return s.close()
	case 4, 5, 6:
		return s.halfClose(1 + s.rng.IntN(64<<10))
	default:
		return s.reset()
	}
}

// deadline bounds the next operation.
func (s *soakConn) deadline() error { return s.c.SetDeadline(time.Now().Add(soakOpTimeout)) }

// echo writes n bytes and reads their echo.
func (s *soakConn) echo(n int) error {
	if err := s.deadline(); err != nil {
		return err
	}
	if err := s.write(int64(n)); err != nil {
		return err
	}
	s.counts.echoes.Add(1)
	return s.readBack(int64(n))
}

// hold writes n bytes from a second goroutine and reads nothing for ms
// milliseconds (a stall, or with n in MiB a flood), then reads the echo;
// with reset it resets the connection instead, everything unread.
func (s *soakConn) hold(n, ms int, reset bool) error {
	if err := s.deadline(); err != nil {
		return err
	}
	if n >= 2<<20 {
		s.counts.floods.Add(1)
	} else {
		s.counts.stalls.Add(1)
	}
	wrote := make(chan error, 1)
	go func() { wrote <- s.write(int64(n)) }()
	time.Sleep(time.Duration(ms) * time.Millisecond) // the client's stall: what the soak exercises
	if reset {
		err := s.reset()
		<-wrote // fails once the connection is gone
		return err
	}
	err := s.readBack(int64(n))
	if werr := <-wrote; err == nil {
		err = werr
	}
	return err
}

// write writes the next n bytes of the pattern, in chunks of at most
// 64 KiB.
func (s *soakConn) write(n int64) error {
	for n > 0 {
		k := min(n, 64<<10)
		if _, err := s.c.Write(patternAt(s.off+s.written, int(k))); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		s.written += k
		n -= k
	}
	return nil
}

// readBack reads n bytes of echo and checks them against the pattern.
func (s *soakConn) readBack(n int64) error {
	if s.buf == nil {
		s.buf = make([]byte, 64<<10)
	}
	for n > 0 {
		k, err := s.c.Read(s.buf[:min(n, int64(len(s.buf)))])
		if k > 0 {
			if !bytes.Equal(s.buf[:k], patternAt(s.off+s.echoed, k)) {
				return fmt.Errorf("echo differs from what was sent, %d bytes into the echo", s.echoed)
			}
			s.echoed += int64(k)
			s.counts.bytesEchoed.Add(int64(k))
			n -= int64(k)
		}
		if err != nil && n > 0 {
			return fmt.Errorf("read (%d bytes of echo still due): %w", n, err)
		}
	}
	return nil
}

// close closes the connection (with a close_notify first over TLS).
func (s *soakConn) close() error {
	s.counts.closes.Add(1)
	if err := s.c.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// halfClose writes n bytes, shuts down the writing side and reads the
// echo to EOF: the server answers everything, then closes.
func (s *soakConn) halfClose(n int) error {
	if err := s.deadline(); err != nil {
		return err
	}
	s.counts.halfCloses.Add(1)
	if err := s.write(int64(n)); err != nil {
		return err
	}
	cw, ok := s.c.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("a %T cannot half-close", s.c)
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("half-close: %w", err)
	}
	defer s.c.Close()
	if err := s.readBack(s.written - s.echoed); err != nil {
		return err
	}
	if k, err := s.c.Read(s.buf[:1]); k != 0 || !errors.Is(err, io.EOF) {
		return fmt.Errorf("after the whole echo of a half-closed connection: %d bytes, %v; want EOF", k, err)
	}
	return nil
}

// reset closes the connection with SO_LINGER 0: the kernel sends an RST
// and drops whatever is unsent or unread.
func (s *soakConn) reset() error {
	s.counts.resets.Add(1)
	s.ended = true
	c := s.c
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn() // no close_notify
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return fmt.Errorf("a %T cannot be reset", c)
	}
	err := tc.SetLinger(0)
	tc.Close()
	if err != nil {
		return fmt.Errorf("SO_LINGER: %w", err)
	}
	return nil
}

// patternPeriod is the pattern's period, a prime, so that chunk
// boundaries never line up with it.
const patternPeriod = 251

// pattern holds the pattern from offset 0 for 64 KiB plus a period, so
// that any 64 KiB of it is a slice.
var pattern = func() []byte {
	b := make([]byte, 64<<10+patternPeriod)
	for i := range b {
		b[i] = byte(i % patternPeriod)
	}
	return b
}()

// patternAt returns n (at most 64 KiB) bytes of the pattern from offset
// off; the slice is shared: do not modify it.
func patternAt(off int64, n int) []byte {
	i := int(off % patternPeriod)
	return pattern[i : i+n]
}
