package sock

import "golang.org/x/sys/unix"

// WasReset reports whether a TCP connection was reset. Linux reports a
// reset's ECONNRESET once: when a write takes it, the next read returns 0
// as if the peer had sent FIN. The connection's state tells the two apart
// (TCP_CLOSE after a reset, TCP_CLOSE_WAIT after a FIN). It reports false
// for other sockets and on any error.
func (f *FD) WasReset() bool {
	reset := false
	_ = f.rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		reset = err == nil && info.State == tcpClose
	})
	return reset
}

// tcpClose is the kernel's TCP_CLOSE state (include/net/tcp_states.h).
const tcpClose = 7
