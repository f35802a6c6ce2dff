package adapters_test

import (
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// setSockBuf sets a socket buffer option (SO_SNDBUF or SO_RCVBUF).
func setSockBuf(rc syscall.RawConn, opt, n int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, n)
	})
	if err != nil {
		return err
	}
	return serr
}

// inQueue returns the number of bytes the kernel holds unread on the
// socket's receive side.
func inQueue(rc syscall.RawConn) (int, error) {
	var n int
	var ierr error
	err := rc.Control(func(fd uintptr) {
		n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	if err != nil {
		return 0, err
	}
	return n, ierr
}

func yield() { runtime.Gosched() }

// outQueue returns the number of bytes the kernel holds unacknowledged on
// the socket's send side.
func outQueue(rc syscall.RawConn) (int, error) {
	var n int
	var ierr error
	err := rc.Control(func(fd uintptr) {
		n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	})
	if err != nil {
		return 0, err
	}
	return n, ierr
}
