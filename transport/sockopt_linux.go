package transport

import (
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// checkSocketOptions accepts every socket option: Linux has them all.
func checkSocketOptions(resolved) error { return nil }

// applyConnOptions sets WithNoDelay and WithKeepAlive on a TCP connection
// through setsockopt; Unix sockets ignore them.
func applyConnOptions(nc streamConn, cfg resolved) error {
	if _, tcp := nc.(*net.TCPConn); !tcp || (cfg.noDelay == nil && cfg.keepAlive == 0) {
		return nil
	}
	rc, err := nc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = setConnOptions(int(fd), cfg)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return &net.OpError{Op: "setsockopt", Net: nc.LocalAddr().Network(), Addr: nc.RemoteAddr(), Err: err}
	}
	return nil
}

func setConnOptions(fd int, cfg resolved) error {
	if cfg.noDelay != nil {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(*cfg.noDelay)); err != nil {
			return err
		}
	}
	switch {
	case cfg.keepAlive < 0:
		return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 0)
	case cfg.keepAlive > 0:
		secs := int(max(cfg.keepAlive.Round(time.Second)/time.Second, 1))
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
	}
	return nil
}

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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
