package poll

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/rxnet/rxnet/internal/goid"
	"golang.org/x/sys/unix"
)

// Supported reports whether this system has the poller (Linux). Any
// goroutine may call it.
func Supported() bool { return true }

// Conn is one descriptor registered with a loop. Multiple goroutines may
// invoke methods on a Conn simultaneously, its Handler's callbacks
// included; no method waits for the loop.
type Conn struct {
	fd int
	id uint64 // the key in l.conns and in the epoll event's data
	h  Handler
	l  *loop

	reading atomic.Bool   // OnReadable calls are on (SetReading)
	closing atomic.Bool   // Close or a panic ended it; set under l.mu
	wstate  atomic.Uint32 // 0, wantWrite or writeEdge: see WantWritable

	// Owned by the loop goroutine.
	readable bool  // an edge said readable, and OnReadable has not said drained since
	hup      bool  // an edge said the peer hung up, or an error: see HungUp
	inReady  bool  // on l.ready
	err      error // the panic that dropped it; read by Err after done

	// done is closed once no callback can run; made by the first Done
	// (a channel costs 96 bytes, and most Conns are never waited on).
	doneMu sync.Mutex
	done   chan struct{}
	ended  bool // finish has run: Done is closed
}

// The states of Conn.wstate.
const (
	wantWrite = 1 // WantWritable was called, no writable edge since
	writeEdge = 2 // a writable edge came while nobody wanted one
)

// Register puts fd in non-blocking mode and adds it, edge-triggered, to
// the least busy loop, starting the loops if none run. Reading starts
// off, so no callback runs before the caller holds the Conn: call
// SetReading(true) to get OnReadable calls (an fd that was readable
// already is then served at once). The caller keeps owning fd: it must
// not close fd before Close has returned (Close takes fd out of epoll by
// number), and closes it itself afterwards. It returns the epoll_ctl error for a
// descriptor epoll cannot watch (a regular file, a character device such
// as /dev/null: EPERM). Any goroutine may call it, a callback included.
func Register(fd int, h Handler) (*Conn, error) { return RegisterNear(fd, h, nil) }

// RegisterNear is Register on near's loop while that loop runs (near's
// registration may be over), else on the least busy one: descriptors
// whose callbacks take one lock (a subprocess's pipes, whose protocol's
// callbacks run one at a time) then never wait for each other across
// loops, so that one blocked callback stalls one loop. A nil near is
// Register. Any goroutine may call it, a callback included.
func RegisterNear(fd int, h Handler, near *Conn) (*Conn, error) {
	switch {
	case h == nil:
		return nil, errNilHandler
	case fd < 0:
		return nil, errBadFD
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, fmt.Errorf("poll: register fd %d: %w", fd, os.NewSyscallError("fcntl", err))
	}
	var nearLoop *loop
	if near != nil {
		nearLoop = near.l
	}
	l, err := pollers.acquire(nearLoop)
	if err != nil {
		return nil, err
	}
	c := &Conn{fd: fd, h: h, l: l}
	l.connsMu.Lock()
	l.lastID++
	c.id = l.lastID
	l.conns[c.id] = c
	l.connsMu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET}
	setEventID(&ev, c.id)
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.connsMu.Lock()
		delete(l.conns, c.id)
		l.connsMu.Unlock()
		pollers.release(l)
		return nil, fmt.Errorf("poll: register fd %d: %w", fd, os.NewSyscallError("epoll_ctl", err))
	}
	return c, nil
}

// SetReading turns OnReadable calls on or off. Off takes effect at once:
// once it returns, the loop starts no OnReadable (one already running,
// when another goroutine calls it, goes on). On is posted to the loop: a
// descriptor that was left readable (more == true, or data that came
// while reading was off) gets OnReadable without a new edge. Any
// goroutine may call it.
func (c *Conn) SetReading(on bool) {
	if c.reading.Swap(on) == on || !on {
		return
	}
	c.l.post(c, taskResume, nil)
}

// WantWritable asks for one OnWritable call once the descriptor is
// writable. Call it after a write on the descriptor took less than
// asked (or returned EAGAIN); when a writable edge has come since the
// last OnWritable, the call comes at once, posted to the loop. Calling
// it again before OnWritable changes nothing. Any goroutine may call it;
// after Close it does nothing.
func (c *Conn) WantWritable() {
	for {
		switch s := c.wstate.Load(); s {
		case wantWrite:
			return
		case writeEdge:
			if c.wstate.CompareAndSwap(s, 0) {
				c.l.post(c, taskWritable, nil)
				return
			}
		default:
			if c.wstate.CompareAndSwap(s, wantWrite) {
				return
			}
		}
	}
}

// Post runs f on the Conn's loop goroutine, after the tasks posted
// before it, and reports whether it was queued: it is not once Close has
// been called (or the loop dropped the Conn). A task queued before Close
// runs before Done is closed. f may call back into the Conn; a panic in f
// drops the Conn like a panic in a callback. Any goroutine may call it.
func (c *Conn) Post(f func()) bool {
	return c.l.post(c, taskFunc, f)
}

// InLoop reports whether the calling goroutine is the Conn's loop (a
// callback or a posted task is running on it). It costs about a
// microsecond when the loop is busy; call it on rare paths. Any goroutine
// may call it.
func (c *Conn) InLoop() bool {
	if c.l.polling.Load() {
		return false // the loop sits in epoll_wait, so this is not it
	}
	return goid.Get() == c.l.gid.Load()
}

// Closing reports whether Close was called (or the loop dropped the
// Conn). Any goroutine may call it.
func (c *Conn) Closing() bool { return c.closing.Load() }

// LoopID returns the id (internal/goid) of the goroutine running the
// Conn's loop now: it changes when a Handoff gives the loop to a new one.
// Any goroutine may call it.
func (c *Conn) LoopID() uint64 { return c.l.gid.Load() }

// HungUp reports whether an edge has said that the peer hung up or that
// the descriptor has an error pending (EPOLLRDHUP, EPOLLHUP, EPOLLERR).
// Until then a stream read that returned less than it asked for has
// drained the descriptor: a FIN coming later makes an edge of its own.
// Call it only from the Conn's callbacks.
func (c *Conn) HungUp() bool { return c.hup }

// Close takes the descriptor off its loop: once Close returns, fd is out
// of epoll (the caller may close it, and a callback that reads it then
// gets an error). Called from the loop (a callback), no other callback
// of c starts after it; called from another goroutine, the one the loop
// was about to start when Close came may still start, and one running
// goes on. Done is closed once no callback of c runs or can start. A
// second Close does nothing. Close does not close fd and does not wait.
// Any goroutine may call it, a callback included.
func (c *Conn) Close() {
	c.l.shutdown(c)
}

// Done returns a channel that is closed once the Conn is off its loop
// for good: after Close, or after the loop dropped it (OnDropped has
// then returned). Any goroutine may call it; a callback must not wait on
// it.
func (c *Conn) Done() <-chan struct{} {
	c.doneMu.Lock()
	defer c.doneMu.Unlock()
	switch {
	case c.done != nil:
	case c.ended:
		c.done = closedDone
	default:
		c.done = make(chan struct{})
	}
	return c.done
}

// closedDone is the Done of a Conn that ended before anyone asked.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// end closes Done: no callback runs any more. The loop calls it once.
func (c *Conn) end() {
	c.doneMu.Lock()
	c.ended = true
	if c.done != nil {
		close(c.done)
	}
	c.doneMu.Unlock()
}

// Err returns nil before Done is closed and after a Close, and the
// *PanicError when the loop dropped the Conn. Any goroutine may call it.
func (c *Conn) Err() error {
	c.doneMu.Lock()
	defer c.doneMu.Unlock()
	if c.ended {
		return c.err
	}
	return nil
}

// setEventID stores id in an epoll event's data.
func setEventID(ev *unix.EpollEvent, id uint64) {
	ev.Fd, ev.Pad = int32(uint32(id)), int32(uint32(id>>32))
}

// eventID is the id setEventID stored.
func eventID(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}
