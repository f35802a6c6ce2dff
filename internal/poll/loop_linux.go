package poll

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/rxnet/rxnet/internal/goid"
	"golang.org/x/sys/unix"
)

// The epoll events that mean a read, or a write, would not block.
const (
	readEvents  = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
	writeEvents = unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR
	hupEvents   = unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
)

// wakeID is the epoll data of the loop's eventfd; Conn ids start at 1.
const wakeID = 0

// A loop is one goroutine serving the descriptors registered on it.
type loop struct {
	epfd   int
	file   *os.File        // epfd, as Go's poller watches it
	rc     syscall.RawConn // file's, for waiting in wait
	evfd   int
	buf    []byte // the read buffer every OnReadable on this loop gets
	events [128]unix.EpollEvent
	hits   []*Conn // the Conns of the events being dispatched

	// wait's, kept here so that its function allocates nothing.
	epollFn func(uintptr) bool
	block   bool // wait may park
	waited  int  // the events epollWait found

	// The Conns by id, for the events; Register adds, the loop removes.
	connsMu sync.Mutex
	conns   map[uint64]*Conn
	lastID  uint64

	// The task queue, which other goroutines append to.
	mu       sync.Mutex
	tasks    []task
	woken    bool // the eventfd was written and not read yet
	stopping bool // the group asked the loop to exit once idle

	polling atomic.Bool   // the loop may be blocked in epoll_wait
	gid     atomic.Uint64 // the loop goroutine's id, for InLoop

	// Owned by the loop goroutine, and kept here rather than on its stack
	// so that a goroutine taking over after a Handoff goes on where the
	// old one stopped: the Conns owed an OnWritable, the round being
	// served (OnReadable) and the next round's, the tasks being run.
	writables []*Conn
	round     []*Conn
	ready     []*Conn
	running   []task
	// How far work has gone in writables, round and running (reset with
	// them, so that their arrays are reused).
	writablesAt, roundAt, runningAt int

	gen     atomic.Uint64     // the generation of the goroutine running the loop
	current *Conn             // whose callback runs now; the loop goroutine's
	after   map[uint64]func() // what a goroutine retired by Handoff runs then

	count int // registrations on this loop, under the group's mu
}

type taskKind uint8

const (
	taskFunc     taskKind = iota // Post's function
	taskResume                   // SetReading(true): serve it if readable
	taskWritable                 // WantWritable found a writable edge
	taskClose                    // Close or a panic: deregister
)

type task struct {
	c    *Conn
	kind taskKind
	f    func()
}

// post appends a task for c and wakes the loop if it may be blocked. It
// reports false, and queues nothing, once c is closing (taskClose itself
// is queued by shutdown). Any goroutine may call it.
func (l *loop) post(c *Conn, kind taskKind, f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closing.Load() {
		return false
	}
	l.tasks = append(l.tasks, task{c: c, kind: kind, f: f})
	l.wakeLocked()
	return true
}

// shutdown marks c closing, takes its descriptor out of epoll at once
// (so that its caller may close the descriptor as soon as Close returns,
// and a reused number never meets a stale deregistration), and queues
// the rest of the deregistration, once. The loop cannot have exited: c
// still counts as one of its registrations.
func (l *loop) shutdown(c *Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closing.Swap(true) {
		return
	}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.tasks = append(l.tasks, task{c: c, kind: taskClose})
	l.wakeLocked()
}

// wakeLocked writes the eventfd when the loop may be blocked in
// epoll_wait and nobody wrote it since the loop last read it. The loop
// sets polling before it checks the queue under mu, so a task appended
// under mu is either seen by that check or followed by a wake-up. It is
// called with mu held, which keeps the write away from the close of the
// eventfd in exit.
func (l *loop) wakeLocked() {
	if !l.polling.Load() || l.woken {
		return
	}
	l.woken = true
	var one = [8]byte{1}
	unix.Write(l.evfd, one[:])
}

// run is the loop goroutine: wait, record the edges, call OnWritable
// where wanted, serve the ready descriptors, run the tasks, until the
// group stops it or a Handoff retires this goroutine (it then runs what
// Handoff gave it, off the loop).
func (l *loop) run() {
	me := l.gen.Load()
	l.gid.Store(goid.Get())
	for {
		if !l.work(me) {
			l.retired(me)
			return
		}
		if l.stopNow() {
			l.exit()
			return
		}
		n := l.wait()
		l.dispatch(l.events[:n])
		l.round, l.ready, l.roundAt = l.ready, l.round[:0], 0
		l.mu.Lock()
		l.running, l.tasks, l.runningAt = l.tasks, l.running[:0], 0
		l.mu.Unlock()
	}
}

// work calls what this round owes, one item at a time, each taken off
// its list before its call; it reports false once a Handoff made during
// a call retired this goroutine (generation me), which then touches
// nothing more.
func (l *loop) work(me uint64) bool {
	for l.writablesAt < len(l.writables) {
		c := l.writables[l.writablesAt]
		l.writables[l.writablesAt] = nil
		l.writablesAt++
		l.callWritable(c)
		if l.gen.Load() != me {
			return false
		}
	}
	l.writables, l.writablesAt = l.writables[:0], 0
	for l.roundAt < len(l.round) {
		c := l.round[l.roundAt]
		l.round[l.roundAt] = nil
		l.roundAt++
		if !l.serve(c) {
			return false
		}
	}
	for l.runningAt < len(l.running) {
		t := l.running[l.runningAt]
		l.running[l.runningAt] = task{}
		l.runningAt++
		l.runTask(t)
		if l.gen.Load() != me {
			return false
		}
	}
	return true
}

// stopNow reports whether the loop must exit: the group asked it to and
// nothing is queued.
func (l *loop) stopNow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping && len(l.tasks) == 0
}

// wait returns the number of events epoll_wait stored. It waits only
// when nothing is ready, queued or stopping, and then parks the goroutine
// in Go's runtime poller until the epoll instance has events (a task's
// eventfd write is one), holding no thread.
func (l *loop) wait() int {
	l.block = false
	if len(l.ready) == 0 {
		l.polling.Store(true)
		l.mu.Lock()
		l.block = len(l.tasks) == 0 && !l.stopping
		l.mu.Unlock()
	}
	l.waited = 0
	// epollFn runs with Go's readiness for the instance reset first, so
	// an edge between its epoll_wait and the park is not lost.
	err := l.rc.Read(l.epollFn)
	l.polling.Store(false)
	if err != nil {
		return 0
	}
	return l.waited
}

// epollWait is wait's function for rc.Read (l.epollFn, made once so that
// a wait allocates nothing): one epoll_wait that does not block; it
// reports false, to park, when it found nothing and wait may block.
func (l *loop) epollWait(fd uintptr) bool {
	for {
		k, err := unix.EpollWait(int(fd), l.events[:], 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return true // only a bad epfd or buffer fails: the loop's own
		}
		l.waited = k
		return k > 0 || !l.block
	}
}

// dispatch records the edges of one epoll_wait: a writable edge goes to
// the write state (calling OnWritable when it was wanted), a readable one
// marks the Conn readable and puts it on the ready list.
func (l *loop) dispatch(evs []unix.EpollEvent) {
	l.hits = l.hits[:0]
	l.connsMu.Lock()
	for i := range evs {
		l.hits = append(l.hits, l.conns[eventID(&evs[i])]) // nil: gone, or the eventfd
	}
	l.connsMu.Unlock()
	for i := range evs {
		c := l.hits[i]
		l.hits[i] = nil
		if eventID(&evs[i]) == wakeID {
			l.drainWake()
			continue
		}
		if c == nil || c.closing.Load() {
			continue
		}
		if evs[i].Events&writeEvents != 0 {
			l.writableEdge(c)
		}
		if evs[i].Events&hupEvents != 0 {
			c.hup = true
		}
		if evs[i].Events&readEvents != 0 {
			c.readable = true
			l.schedule(c)
		}
	}
}

// drainWake reads the eventfd, so that the next post writes it again.
func (l *loop) drainWake() {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.mu.Lock()
	l.woken = false
	l.mu.Unlock()
}

// writableEdge hands a writable edge to OnWritable when WantWritable
// asked for one, or records it for the next WantWritable.
func (l *loop) writableEdge(c *Conn) {
	for {
		switch s := c.wstate.Load(); s {
		case writeEdge:
			return
		case wantWrite:
			if c.wstate.CompareAndSwap(s, 0) {
				l.writables = append(l.writables, c)
				return
			}
		default:
			if c.wstate.CompareAndSwap(s, writeEdge) {
				return
			}
		}
	}
}

// schedule puts c on the ready list when it is readable, reading and not
// there yet.
func (l *loop) schedule(c *Conn) {
	if c.readable && !c.inReady && c.reading.Load() && !c.closing.Load() {
		c.inReady = true
		l.ready = append(l.ready, c)
	}
}

// serve calls OnReadable once on c, from the round; if it reports more,
// c goes on the next round. It reports false when the call retired the
// goroutine (see work), which then leaves c alone.
func (l *loop) serve(c *Conn) bool {
	c.inReady = false
	if c.closing.Load() || !c.reading.Load() {
		return true // still readable: SetReading(true) reschedules it
	}
	me := l.gen.Load()
	more, ok := l.callReadable(c)
	if !ok || l.gen.Load() != me {
		return l.gen.Load() == me
	}
	c.readable = more
	l.schedule(c)
	return true
}

func (l *loop) runTask(t task) {
	c := t.c
	switch t.kind {
	case taskFunc:
		l.callTask(c, t.f)
	case taskResume:
		l.schedule(c)
	case taskWritable:
		if !c.closing.Load() {
			l.callWritable(c)
		}
	case taskClose:
		l.finish(c)
	}
}

// finish forgets c (shutdown took it out of epoll), calls OnDropped when
// a panic dropped it, closes Done and gives the registration back to the
// group.
func (l *loop) finish(c *Conn) {
	l.connsMu.Lock()
	delete(l.conns, c.id)
	l.connsMu.Unlock()
	if c.err != nil {
		l.callDropped(c)
	}
	pollers.release(l) // before Done: a waiter on Done finds the count down
	c.end()
}

// fail drops c after a panic in one of its callbacks or tasks.
func (l *loop) fail(c *Conn, v any) {
	if c.err == nil {
		c.err = newPanicError(v)
	}
	l.shutdown(c)
}

func (l *loop) callReadable(c *Conn) (more, ok bool) {
	l.call(c, func() { more, ok = c.h.OnReadable(l.buf), true })
	return more, ok
}

func (l *loop) callWritable(c *Conn) { l.call(c, c.h.OnWritable) }

func (l *loop) callTask(c *Conn, f func()) { l.call(c, f) }

// call runs one of c's callbacks (or tasks) as the current one, behind
// the panic guard of settle.
func (l *loop) call(c *Conn, f func()) {
	me := l.gen.Load()
	l.current = c
	defer l.settle(c, me)
	f()
}

// settle ends a call: a panic drops c, unless a Handoff retired this
// goroutine (generation me) during the call, when the loop is no longer
// its to touch and only c's handler hears of the panic.
func (l *loop) settle(c *Conn, me uint64) {
	v := recover()
	if l.gen.Load() != me {
		if v != nil {
			callDropped(c, newPanicError(v))
		}
		return
	}
	l.current = nil
	if v != nil {
		l.fail(c, v)
	}
}

func (l *loop) callDropped(c *Conn) { callDropped(c, c.err) }

func callDropped(c *Conn, err error) {
	defer func() { _ = recover() }()
	c.h.OnDropped(err)
}
