package sock

import (
	"errors"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// Sockaddr is a socket address in the kernel's own form. It is a value
// (comparable, so it can key a map) and converting to and from it
// allocates nothing. The zero Sockaddr is no address: the connected peer.
type Sockaddr struct {
	raw unix.RawSockaddrAny
	n   uint32 // the length the kernel uses
}

// SockaddrInet4 returns an IPv4 address.
func SockaddrInet4(ip [4]byte, port int) Sockaddr {
	var s Sockaddr
	a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.raw))
	a.Family = unix.AF_INET
	a.Port = htons(port)
	a.Addr = ip
	s.n = unix.SizeofSockaddrInet4
	return s
}

// SockaddrInet6 returns an IPv6 address with its zone (interface index).
func SockaddrInet6(ip [16]byte, port int, zone uint32) Sockaddr {
	var s Sockaddr
	a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.raw))
	a.Family = unix.AF_INET6
	a.Port = htons(port)
	a.Addr = ip
	a.Scope_id = zone
	s.n = unix.SizeofSockaddrInet6
	return s
}

// SockaddrUnix returns a Unix socket's address; it fails for a name too
// long for the kernel.
func SockaddrUnix(name string) (Sockaddr, error) {
	var s Sockaddr
	a := (*unix.RawSockaddrUnix)(unsafe.Pointer(&s.raw))
	if len(name) >= len(a.Path) {
		return s, unix.EINVAL
	}
	a.Family = unix.AF_UNIX
	for i := 0; i < len(name); i++ {
		a.Path[i] = int8(name[i])
	}
	if len(name) > 0 && name[0] == '@' {
		a.Path[0] = 0 // Linux's abstract namespace
	}
	s.n = uint32(unsafe.Offsetof(a.Path)) + uint32(len(name))
	if len(name) > 0 && name[0] != '@' {
		s.n++ // a path name's terminating NUL, as Go's net counts it
	}
	return s, nil
}

// Family returns AF_INET, AF_INET6 or AF_UNIX; 0 for no address.
func (s *Sockaddr) Family() int {
	if s.n == 0 {
		return 0
	}
	return int(s.raw.Addr.Family)
}

// Inet returns an IPv4 or IPv6 address's parts: ip[:n] is the IP (n is 4
// or 16).
func (s *Sockaddr) Inet() (ip [16]byte, n, port int, zone uint32) {
	switch s.Family() {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.raw))
		copy(ip[:], a.Addr[:])
		return ip, 4, ntohs(a.Port), 0
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.raw))
		return a.Addr, 16, ntohs(a.Port), a.Scope_id
	}
	return ip, 0, 0, 0
}

// UnixName returns a Unix socket address's name ("" for an unbound
// sender; "@..." for Linux's abstract namespace).
func (s *Sockaddr) UnixName() string {
	if s.Family() != unix.AF_UNIX {
		return ""
	}
	a := (*unix.RawSockaddrUnix)(unsafe.Pointer(&s.raw))
	n := int(s.n) - int(unsafe.Offsetof(a.Path))
	if n <= 0 {
		return ""
	}
	b := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		c := byte(a.Path[i])
		if i == 0 && c == 0 {
			c = '@'
		} else if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

func htons(port int) uint16 { return uint16(port>>8) | uint16(port)<<8 }
func ntohs(p uint16) int    { return int(p>>8) | int(p&0xff)<<8 }

// dgram is the state of a datagram socket's calls, kept apart so that
// stream sockets do not carry it.
type dgram struct {
	recvFn, tryRecvFn func(uintptr) bool
	sendFn, trySendFn func(uintptr) bool
	msg               unix.Msghdr
	iov               unix.Iovec
	from              Sockaddr
	rtrunc            bool
	wto               Sockaddr
}

// NewDatagram is New for a datagram socket: its FD has ReadFrom,
// TryReadFrom, SendTo, TrySendTo.
func NewDatagram(c syscall.Conn, stop func() bool) (*FD, error) {
	f, err := New(c, stop)
	if err != nil {
		return nil, err
	}
	d := &dgram{recvFn: f.recv, tryRecvFn: f.tryRecv}
	d.sendFn = func(fd uintptr) bool { return f.sendOnce(fd, true) }
	d.trySendFn = func(fd uintptr) bool { return f.sendOnce(fd, false) }
	d.msg.Name = (*byte)(unsafe.Pointer(&d.from.raw))
	d.msg.Iov = &d.iov
	d.msg.SetIovlen(1)
	f.dg = d
	return f, nil
}

// ReadFrom waits until the datagram socket is readable and reads one
// datagram and its sender into a borrowed buffer of size bytes (size <=
// MaxRead), which the caller gives back with its Put (buf is nil when n is
// 0: an empty datagram). trunc reports that the datagram was longer than
// size and was cut. It returns ErrStopped like Read, and ErrInterrupted
// when Interrupt was called.
func (f *FD) ReadFrom(size int) (buf *bufpool.Buf, n int, from Sockaddr, trunc bool, err error) {
	f.rsize, f.rstopped = size, false
	if err = f.rc.Read(f.dg.recvFn); err == nil {
		err = f.rerr
	}
	buf, n, from, trunc = f.rbuf, f.rn, f.dg.from, f.dg.rtrunc
	f.rbuf, f.rn, f.rerr, f.dg.rtrunc = nil, 0, nil, false
	switch {
	case f.rstopped:
		return nil, 0, Sockaddr{}, false, ErrStopped
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, 0, Sockaddr{}, false, ErrInterrupted
	}
	if n == 0 && buf != nil {
		buf.Put()
		buf = nil
	}
	return buf, n, from, trunc, err
}

func (f *FD) recv(fd uintptr) bool {
	if f.stop() {
		f.rstopped = true
		return true
	}
	b := bufpool.Get(f.rsize)
	n, errno := f.dg.recvmsg(fd, b.Bytes()[:f.rsize])
	switch errno {
	case 0:
		f.rbuf, f.rn = b, n
		return true
	case unix.EAGAIN:
		b.Put()
		return false
	default:
		b.Put()
		f.rerr = errno
		return true
	}
}

// TryReadFrom is ReadFrom into p, the caller's buffer, without the wait:
// it reads one datagram and its sender (trunc: the datagram was longer
// than p and was cut), or returns ErrWouldBlock when none is queued. It
// returns ErrStopped like ReadFrom, and ErrInterrupted while an
// Interrupt is pending (until Resume).
func (f *FD) TryReadFrom(p []byte) (n int, from Sockaddr, trunc bool, err error) {
	f.into, f.rstopped = p, false
	if err = f.rc.Read(f.dg.tryRecvFn); err == nil {
		err = f.rerr
	}
	n, from, trunc = f.rn, f.dg.from, f.dg.rtrunc
	f.into, f.rn, f.rerr, f.dg.rtrunc = nil, 0, nil, false
	switch {
	case f.rstopped:
		return 0, Sockaddr{}, false, ErrStopped
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, Sockaddr{}, false, ErrInterrupted
	case err != nil:
		return 0, Sockaddr{}, false, err
	}
	return n, from, trunc, nil
}

func (f *FD) tryRecv(fd uintptr) bool {
	if f.stop() {
		f.rstopped = true
		return true
	}
	n, errno := f.dg.recvmsg(fd, f.into)
	switch errno {
	case 0:
		f.rn = n
	case unix.EAGAIN:
		f.rerr = ErrWouldBlock
	default:
		f.rerr = errno
	}
	return true
}

// recvmsg reads one datagram into p, and its sender into d.from, retrying
// when a signal interrupts it; it sets d.rtrunc when the datagram was cut.
func (d *dgram) recvmsg(fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		d.from = Sockaddr{}
		d.msg.Namelen = unix.SizeofSockaddrAny
		d.msg.Flags = 0
		d.iov.Base = nil
		if len(p) > 0 {
			d.iov.Base = &p[0]
		}
		d.iov.SetLen(len(p))
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&d.msg)), 0)
		switch errno {
		case unix.EINTR:
			continue
		case 0:
			d.from.n = d.msg.Namelen
			d.rtrunc = d.msg.Flags&unix.MSG_TRUNC != 0
		}
		return int(n), errno
	}
}

// TrySendTo sends p as one datagram to to (the zero Sockaddr: the
// connected peer) without waiting; sent is false when the socket would
// block.
func (f *FD) TrySendTo(p []byte, to *Sockaddr) (sent bool, err error) {
	f.wone, f.dg.wto = p, *to
	err = f.rc.Write(f.dg.trySendFn)
	if err == nil {
		err = f.werr
	}
	sent = f.wn == 1
	f.wone, f.wn, f.werr = nil, 0, nil
	return sent, err
}

// SendTo waits until the socket is writable, then sends p as one datagram
// to to (the zero Sockaddr: the connected peer).
func (f *FD) SendTo(p []byte, to *Sockaddr) error {
	f.wone, f.dg.wto = p, *to
	err := f.rc.Write(f.dg.sendFn)
	if err == nil {
		err = f.werr
	}
	f.wone, f.wn, f.werr = nil, 0, nil
	return err
}

// sendOnce tries one sendto; it reports false on EAGAIN when wait is set.
func (f *FD) sendOnce(fd uintptr, wait bool) bool {
	var p, to unsafe.Pointer
	if len(f.wone) > 0 {
		p = unsafe.Pointer(&f.wone[0])
	}
	if f.dg.wto.n > 0 {
		to = unsafe.Pointer(&f.dg.wto.raw)
	}
	for {
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, fd, uintptr(p), uintptr(len(f.wone)), 0, uintptr(to), uintptr(f.dg.wto.n))
		switch errno {
		case 0:
			f.wn = 1
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			if wait {
				return false
			}
		default:
			f.werr = errno
		}
		return true
	}
}
