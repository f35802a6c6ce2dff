package poll

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// handler is a Handler made of functions; a nil one does nothing (and
// OnReadable reports the descriptor drained).
type handler struct {
	readable func(buf []byte) bool
	writable func()
	dropped  func(err error)
}

func (h *handler) OnReadable(buf []byte) bool {
	if h.readable == nil {
		return false
	}
	return h.readable(buf)
}

func (h *handler) OnWritable() {
	if h.writable != nil {
		h.writable()
	}
}

func (h *handler) OnDropped(err error) {
	if h.dropped != nil {
		h.dropped(err)
	}
}

// withLoops runs the test with n loops and restores the setting after.
func withLoops(t testing.TB, n int) {
	prev := SetLoops(n)
	t.Cleanup(func() { SetLoops(prev) })
}

// socketpair returns a connected pair of stream sockets, closed at the
// end of the test (after the Cleanups registered later, so after their
// Conns are done).
func socketpair(t testing.TB) (a, b int) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// register registers fd and, at the end of the test, closes the Conn
// and waits until it is done (before fd is closed).
func register(t testing.TB, fd int, h Handler) *Conn {
	c, err := Register(fd, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); <-c.Done() })
	return c
}

// barrier returns once the loop has dispatched every edge that happened
// before the call: a task posts a second one, which runs after a later
// epoll_wait, one that started after barrier was called.
func barrier(t testing.TB, c *Conn) {
	done := make(chan struct{})
	if !c.Post(func() { c.Post(func() { close(done) }) }) {
		t.Fatal("Post on a live Conn reported false")
	}
	<-done
}

// takeFD returns a close-on-exec duplicate of a connection's descriptor,
// closed at the end of the test; the caller closes the connection.
func takeFD(t testing.TB, sc syscall.Conn) int {
	rc, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	cerr := rc.Control(func(s uintptr) { fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) })
	if cerr != nil || err != nil {
		t.Fatal(cerr, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// echo is a Handler that writes back what it reads, with flow control:
// while a write is pending it stops reading and asks for OnWritable.
type echo struct {
	fd      int
	c       *Conn
	pending []byte
}

func (e *echo) OnReadable(buf []byte) bool {
	n, err := unix.Read(e.fd, buf)
	if err == unix.EINTR {
		return true
	}
	if n <= 0 || err != nil {
		return false // drained, end of stream or error
	}
	e.send(buf[:n])
	return true // one buffer per round
}

func (e *echo) send(p []byte) {
	n, err := unix.Write(e.fd, p)
	if err != nil && err != unix.EAGAIN {
		return
	}
	n = max(n, 0)
	if n < len(p) {
		e.pending = append(e.pending[:0], p[n:]...)
		e.c.SetReading(false)
		e.c.WantWritable()
	}
}

func (e *echo) OnWritable() {
	p := e.pending
	e.pending = nil
	if len(p) == 0 {
		return
	}
	e.send(p)
	if e.pending == nil {
		e.c.SetReading(true)
	}
}

func (e *echo) OnDropped(error) {}

// registerEcho registers an echo server on fd and turns reading on.
func registerEcho(t testing.TB, fd int) *Conn {
	e := &echo{fd: fd}
	e.c = register(t, fd, e)
	e.c.SetReading(true)
	return e.c
}
