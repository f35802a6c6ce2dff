package transport

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// checkSocketOptions accepts every socket option: Linux has them all.
func checkSocketOptions(resolved) error { return nil }

// socketControl sets the options that must precede bind (WithReusePort,
// WithReuseAddr, WithBroadcast, WithReceiveBuffer, WithSendBuffer) on a
// new socket; it returns nil when there are none.
func socketControl(cfg resolved) func(network, address string, rc syscall.RawConn) error {
	var opts [][2]int // level is always SOL_SOCKET
	add := func(on bool, opt, v int) {
		if on {
			opts = append(opts, [2]int{opt, v})
		}
	}
	add(cfg.reusePort, unix.SO_REUSEPORT, 1)
	add(cfg.reuseAddr, unix.SO_REUSEADDR, 1)
	add(cfg.broadcast, unix.SO_BROADCAST, 1)
	add(cfg.recvBuf > 0, unix.SO_RCVBUF, cfg.recvBuf)
	add(cfg.sendBuf > 0, unix.SO_SNDBUF, cfg.sendBuf)
	if len(opts) == 0 {
		return nil
	}
	return func(network, address string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			for _, o := range opts {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, o[0], o[1]); serr != nil {
					serr = os.NewSyscallError("setsockopt", serr)
					return
				}
			}
		}); err != nil {
			return err
		}
		return serr
	}
}

// deferAccept has the kernel hold a TCP listener's new connections until
// their first bytes arrive, for about d (TCP_DEFER_ACCEPT, in whole
// seconds; the kernel rounds up to its SYN-ACK retransmissions), after
// which it hands them over anyway. A ListenTLS server uses it so that a
// silent peer costs it nothing (tls_accept.go). Best effort: the server
// copes without it, so a failure is ignored, and other listeners are left
// alone.
func deferAccept(ln net.Listener, d time.Duration) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	secs := int(max((d+time.Second-1)/time.Second, 1))
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, secs)
	})
}

// checkSocketType reports an error when sc's socket is closed or is not of
// type want (unix.SOCK_STREAM or unix.SOCK_DGRAM).
func checkSocketType(sc syscall.Conn, want int) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var typ int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		typ, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TYPE)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("getsockopt", serr)
	}
	if typ != want {
		return fmt.Errorf("socket type %d, want %d", typ, want)
	}
	return nil
}

// Socket types for checkSocketType.
const (
	sockStream = unix.SOCK_STREAM
	sockDgram  = unix.SOCK_DGRAM
)
