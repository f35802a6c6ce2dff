package poll

import (
	"sync"
	"sync/atomic"

	"github.com/rxnet/rxnet/internal/goid"
	"golang.org/x/sys/unix"
)

// The epoll events that mean a read, or a write, would not block.
const (
	readEvents  = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
	writeEvents = unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR
)

// wakeID is the epoll data of the loop's eventfd; Conn ids start at 1.
const wakeID = 0

// A loop is one goroutine serving the descriptors registered on it.
type loop struct {
	epfd   int
	evfd   int
	buf    []byte // the read buffer every OnReadable on this loop gets
	events [128]unix.EpollEvent
	hits   []*Conn // the Conns of the events being dispatched

	// The Conns by id, for the events; Register adds, the loop removes.
	connsMu sync.Mutex
	conns   map[uint64]*Conn
	lastID  uint64

	// The task queue, which other goroutines append to.
	mu       sync.Mutex
	tasks    []task
	woken    bool // the eventfd was written and not read yet
	stopping bool // the group asked the loop to exit once idle
	spare    []task

	polling atomic.Bool   // the loop may be blocked in epoll_wait
	gid     atomic.Uint64 // the loop goroutine's id, for InLoop

	// Owned by the loop goroutine: the Conns to call OnReadable on next
	// round, and the list of the round after.
	ready, next []*Conn

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

// run is the loop goroutine: wait, dispatch the edges, serve the ready
// descriptors, run the tasks, until the group stops it.
func (l *loop) run() {
	l.gid.Store(goid.Get())
	for {
		n := l.wait()
		l.dispatch(l.events[:n])
		l.serveReady()
		if l.runTasks() {
			l.exit()
			return
		}
	}
}

// wait returns the number of events epoll_wait stored. It blocks, with
// no timeout, only when nothing is ready, queued or stopping.
func (l *loop) wait() int {
	timeout := 0
	if len(l.ready) == 0 {
		l.polling.Store(true)
		l.mu.Lock()
		if len(l.tasks) == 0 && !l.stopping {
			timeout = -1
		}
		l.mu.Unlock()
	}
	for {
		n, err := unix.EpollWait(l.epfd, l.events[:], timeout)
		if err == unix.EINTR {
			continue
		}
		l.polling.Store(false)
		if err != nil {
			// Only a bad epfd or events buffer fails, and both are the
			// loop's own.
			return 0
		}
		return n
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
				l.callWritable(c)
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

// serveReady calls OnReadable once on every Conn of the ready list; the
// ones that report more go on the next round's list.
func (l *loop) serveReady() {
	ready := l.ready
	l.ready = l.next[:0]
	for i, c := range ready {
		ready[i] = nil
		c.inReady = false
		if c.closing.Load() || !c.reading.Load() {
			continue // still readable: SetReading(true) reschedules it
		}
		more, ok := l.callReadable(c)
		if !ok {
			continue
		}
		c.readable = more
		l.schedule(c)
	}
	l.next = ready[:0]
}

// runTasks runs the queued tasks and reports whether the loop must exit:
// it was asked to and nothing was queued.
func (l *loop) runTasks() (exit bool) {
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	exit = len(tasks) == 0 && l.stopping
	l.mu.Unlock()
	for i := range tasks {
		l.runTask(tasks[i])
		tasks[i] = task{}
	}
	l.spare = tasks[:0]
	return exit
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
	close(c.done)
	pollers.release(l)
}

// fail drops c after a panic in one of its callbacks or tasks.
func (l *loop) fail(c *Conn, v any) {
	if c.err == nil {
		c.err = newPanicError(v)
	}
	l.shutdown(c)
}

func (l *loop) callReadable(c *Conn) (more, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			l.fail(c, v)
		}
	}()
	return c.h.OnReadable(l.buf), true
}

func (l *loop) callWritable(c *Conn) {
	defer func() {
		if v := recover(); v != nil {
			l.fail(c, v)
		}
	}()
	c.h.OnWritable()
}

func (l *loop) callTask(c *Conn, f func()) {
	defer func() {
		if v := recover(); v != nil {
			l.fail(c, v)
		}
	}()
	f()
}

func (l *loop) callDropped(c *Conn) {
	defer func() { _ = recover() }()
	c.h.OnDropped(c.err)
}
