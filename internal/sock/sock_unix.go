//go:build unix

package sock

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// FD moves bytes through one socket or pipe without blocking a thread.
//
// One goroutine at a time may read (Read) and one at a time may write
// (TryWrite, Writev); a read and a write may run simultaneously.
type FD struct {
	rc syscall.RawConn

	// The read callback's arguments and results, kept here so that the
	// callback (a method value made on its first use, by the side that
	// uses it: an idle connection holds only those it used) does not
	// allocate per call.
	readFn  func(uintptr) bool
	rbuf    *bufpool.Buf
	rsize   int
	rn      int
	rerr    error
	stop    func() bool
	writeFn func(uintptr) bool
	tryFn   func(uintptr) bool
	wbufs   [][]byte
	wone    []byte
	wn      int
	werr    error

	into     []byte // ReadInto's destination
	intoFn   func(uintptr) bool
	deadline deadliner // for Interrupt, when the connection has one

	dg *dgram // datagram sockets only (NewDatagram)

	rstopped bool // Read, ReadInto: stop said so
	rnow     bool // TryReadInto: do not wait
}

type deadliner interface{ SetReadDeadline(time.Time) error }

// New wraps a connection's raw descriptor. Before each read attempt Read
// calls stop; when it reports true, Read returns ErrStopped without
// reading.
func New(c syscall.Conn, stop func() bool) (*FD, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	f := &FD{rc: rc, stop: stop}
	f.deadline, _ = c.(deadliner)
	return f, nil
}

// Read waits until the descriptor is readable and reads at most size bytes
// (size <= MaxRead) into a borrowed buffer, which the caller returns with
// its Put. It returns ErrStopped, without reading, when New's stop function
// says so, and ErrInterrupted when Interrupt was called. n == 0 with a
// nil error is end of file. The buffer is nil whenever n is 0.
func (f *FD) Read(size int) (buf *bufpool.Buf, n int, err error) {
	f.rsize, f.rstopped = size, false
	if f.readFn == nil {
		f.readFn = f.read
	}
	if err = f.rc.Read(f.readFn); err == nil {
		err = f.rerr
	}
	buf, n = f.rbuf, f.rn
	f.rbuf, f.rn, f.rerr = nil, 0, nil
	switch {
	case f.rstopped:
		return nil, 0, ErrStopped
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, ErrInterrupted
	}
	if n == 0 && buf != nil {
		buf.Put()
		buf = nil
	}
	return buf, n, err
}

func (f *FD) read(fd uintptr) bool {
	if f.stop() {
		f.rstopped = true
		return true
	}
	b := bufpool.Get(f.rsize)
	for {
		n, err := unix.Read(int(fd), b.Bytes()[:f.rsize])
		switch err {
		case nil:
			f.rbuf, f.rn = b, n
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			b.Put() // hold no buffer while waiting
			return false
		default:
			b.Put()
			f.rerr = err
			return true
		}
	}
}

// ReadInto is Read into p, the caller's buffer: it waits until the
// descriptor is readable and reads at most len(p) bytes. When stoppable
// is false it reads whatever New's stop function says. It returns
// ErrStopped and ErrInterrupted like Read; n == 0 with a nil error is
// end of file.
func (f *FD) ReadInto(p []byte, stoppable bool) (n int, err error) {
	f.into, f.rstopped = p, false
	stop := f.stop
	if !stoppable {
		f.stop = neverStop
	}
	if f.intoFn == nil {
		f.intoFn = f.readInto
	}
	if err = f.rc.Read(f.intoFn); err == nil {
		err = f.rerr
	}
	n = f.rn
	f.into, f.rn, f.rerr, f.stop = nil, 0, nil, stop
	switch {
	case f.rstopped:
		return 0, ErrStopped
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, ErrInterrupted
	}
	return n, err
}

func neverStop() bool { return false }

// TryReadInto is ReadInto (stoppable) without the wait: when nothing is
// there to read it returns ErrWouldBlock.
func (f *FD) TryReadInto(p []byte) (n int, err error) {
	f.rnow = true
	n, err = f.ReadInto(p, true)
	f.rnow = false
	return n, err
}

func (f *FD) readInto(fd uintptr) bool {
	if f.stop() {
		f.rstopped = true
		return true
	}
	for {
		n, err := unix.Read(int(fd), f.into)
		switch err {
		case nil:
			f.rn = n
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if f.rnow {
				f.rerr = ErrWouldBlock
				return true
			}
			return false
		default:
			f.rerr = err
			return true
		}
	}
}

// Readable reports whether a read would not wait now: data, the end of
// the stream or an error is pending. It takes nothing and may run while
// another goroutine waits in a read.
func (f *FD) Readable() bool {
	ready := false
	f.rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			if err != unix.EINTR {
				ready = err == nil && n > 0
				return
			}
		}
	})
	return ready
}

// Interrupt makes a read that waits (Read, ReadInto, ReadFrom), or the
// next one, return ErrInterrupted; Resume undoes it. The descriptor must
// have come from a connection with SetReadDeadline.
func (f *FD) Interrupt() error { return f.setDeadline(time.Unix(1, 0)) }

// Resume lets reads wait again after an Interrupt.
func (f *FD) Resume() error { return f.setDeadline(time.Time{}) }

func (f *FD) setDeadline(t time.Time) error {
	if f.deadline == nil {
		return errors.ErrUnsupported
	}
	return f.deadline.SetReadDeadline(t)
}

// TryWrite writes as much of p as the kernel takes now, without waiting.
// A full socket buffer is not an error: it returns the count taken.
func (f *FD) TryWrite(p []byte) (int, error) {
	f.wone = p
	n, err := f.try()
	f.wone = nil
	return n, err
}

// TryWritev is TryWrite for several buffers, with one writev.
func (f *FD) TryWritev(bufs [][]byte) (int, error) {
	f.wbufs = bufs
	n, err := f.try()
	f.wbufs = nil
	return n, err
}

func (f *FD) try() (int, error) {
	if f.tryFn == nil {
		f.tryFn = f.tryWrite
	}
	if err := f.rc.Write(f.tryFn); err != nil {
		return 0, err
	}
	n, err := f.wn, f.werr
	f.wn, f.werr = 0, nil
	return n, err
}

func (f *FD) tryWrite(fd uintptr) bool {
	for {
		var n int
		var err error
		if f.wbufs != nil {
			n, err = writev(int(fd), f.wbufs)
		} else {
			n, err = unix.Write(int(fd), f.wone)
		}
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			n, err = 0, nil
		}
		f.wn, f.werr = max(n, 0), err
		return true
	}
}

// Writev waits until the descriptor is writable, then writes bufs with one
// writev and returns the count the kernel took (at least one byte unless
// there is an error).
func (f *FD) Writev(bufs [][]byte) (int, error) {
	f.wbufs = bufs
	if f.writeFn == nil {
		f.writeFn = f.writev
	}
	if err := f.rc.Write(f.writeFn); err != nil {
		return 0, err
	}
	n, err := f.wn, f.werr
	f.wbufs, f.wn, f.werr = nil, 0, nil
	return n, err
}

func (f *FD) writev(fd uintptr) bool {
	for {
		n, err := writev(int(fd), f.wbufs)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		f.wn, f.werr = max(n, 0), err
		return true
	}
}

// Sysfd returns the descriptor's number, for registering it with a
// poller (internal/poll). The number stays the descriptor's until the
// connection is closed; reads and writes still go through FD's methods.
// Any goroutine may call it.
func (f *FD) Sysfd() (int, error) {
	fd := -1
	if err := f.rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}
