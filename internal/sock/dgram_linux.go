//go:build unix

package sock

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrInterrupted is returned by ReadFrom when Interrupt woke it.
var ErrInterrupted = errors.New("sock: read interrupted")

// dgram is the state of a datagram socket's calls, kept apart so that
// stream sockets do not carry it.
type dgram struct {
	recvFn, sendFn, trySendFn func(uintptr) bool
	rfrom                     unix.Sockaddr
	rtrunc                    bool
	wto                       unix.Sockaddr
	deadline                  deadliner
}

type deadliner interface{ SetReadDeadline(time.Time) error }

// NewDatagram is New for a datagram socket: its FD has ReadFrom, SendTo,
// TrySendTo and, when c has SetReadDeadline, Interrupt.
func NewDatagram(c syscall.Conn, stop func() bool) (*FD, error) {
	f, err := New(c, stop)
	if err != nil {
		return nil, err
	}
	d := &dgram{recvFn: f.recv}
	d.sendFn = func(fd uintptr) bool { return f.sendOnce(fd, true) }
	d.trySendFn = func(fd uintptr) bool { return f.sendOnce(fd, false) }
	d.deadline, _ = c.(deadliner)
	f.dg = d
	return f, nil
}

// ReadFrom waits until the datagram socket is readable and reads one
// datagram and its sender into a borrowed buffer of size bytes (size <=
// MaxRead), which the caller returns with PutBuf (buf is nil when n is
// 0: an empty datagram). trunc reports that the datagram was longer than
// size and was cut. It returns ErrStopped like Read, and ErrInterrupted
// when Interrupt was called.
func (f *FD) ReadFrom(size int) (buf *[]byte, n int, from unix.Sockaddr, trunc bool, err error) {
	f.rsize, f.rstopped = size, false
	if err = f.rc.Read(f.dg.recvFn); err == nil {
		err = f.rerr
	}
	buf, n, from, trunc = f.rbuf, f.rn, f.dg.rfrom, f.dg.rtrunc
	f.rbuf, f.rn, f.rerr, f.dg.rfrom, f.dg.rtrunc = nil, 0, nil, nil, false
	switch {
	case f.rstopped:
		return nil, 0, nil, false, ErrStopped
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, nil, false, ErrInterrupted
	}
	if n == 0 && buf != nil {
		PutBuf(buf)
		buf = nil
	}
	return buf, n, from, trunc, err
}

func (f *FD) recv(fd uintptr) bool {
	if f.stop() {
		f.rstopped = true
		return true
	}
	b := getBuf()
	for {
		n, _, flags, from, err := unix.Recvmsg(int(fd), (*b)[:f.rsize], nil, 0)
		switch err {
		case nil:
			f.rbuf, f.rn, f.dg.rfrom, f.dg.rtrunc = b, n, from, flags&unix.MSG_TRUNC != 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			PutBuf(b)
			return false
		default:
			PutBuf(b)
			f.rerr = err
			return true
		}
	}
}

// Interrupt makes a ReadFrom that waits, or the next one, return
// ErrInterrupted; Resume undoes it. The descriptor must have come from a
// connection with SetReadDeadline.
func (f *FD) Interrupt() error { return f.setDeadline(time.Unix(1, 0)) }

// Resume lets ReadFrom wait again after an Interrupt.
func (f *FD) Resume() error { return f.setDeadline(time.Time{}) }

func (f *FD) setDeadline(t time.Time) error {
	if f.dg == nil || f.dg.deadline == nil {
		return errors.ErrUnsupported
	}
	return f.dg.deadline.SetReadDeadline(t)
}

// TrySendTo sends p as one datagram to to (nil: the connected peer)
// without waiting; sent is false when the socket would block.
func (f *FD) TrySendTo(p []byte, to unix.Sockaddr) (sent bool, err error) {
	f.wone, f.dg.wto = p, to
	err = f.rc.Write(f.dg.trySendFn)
	if err == nil {
		err = f.werr
	}
	sent = f.wn == 1
	f.wone, f.dg.wto, f.wn, f.werr = nil, nil, 0, nil
	return sent, err
}

// SendTo waits until the socket is writable, then sends p as one datagram
// to to (nil: the connected peer).
func (f *FD) SendTo(p []byte, to unix.Sockaddr) error {
	f.wone, f.dg.wto = p, to
	err := f.rc.Write(f.dg.sendFn)
	if err == nil {
		err = f.werr
	}
	f.wone, f.dg.wto, f.wn, f.werr = nil, nil, 0, nil
	return err
}

// sendOnce tries one sendto; it reports false on EAGAIN when wait is set.
func (f *FD) sendOnce(fd uintptr, wait bool) bool {
	for {
		err := unix.Sendto(int(fd), f.wone, 0, f.dg.wto)
		switch err {
		case nil:
			f.wn = 1
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if wait {
				return false
			}
		default:
			f.werr = err
		}
		return true
	}
}
