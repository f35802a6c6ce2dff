package sock

import "golang.org/x/sys/unix"

// TCPClosed reports whether a TCP connection is in the kernel's TCP_CLOSE
// state: after a reset, or once both sides' FINs were exchanged with ours
// last. Linux reports a reset's ECONNRESET once: when a write takes it,
// the next read returns 0 as if the peer had sent FIN. A caller that has
// not sent its FIN tells the two apart with TCPClosed (TCP_CLOSE after a
// reset, TCP_CLOSE_WAIT after the peer's FIN). It reports false for other
// sockets and on any error.
func (f *FD) TCPClosed() bool {
	reset := false
	_ = f.rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		reset = err == nil && info.State == tcpClose
	})
	return reset
}

// tcpClose is the kernel's TCP_CLOSE state (include/net/tcp_states.h).
const tcpClose = 7
