//go:build !linux

package transport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// checkSocketOptions refuses the options set before bind (socketControl):
// they are Linux only for now. WithNoDelay and WithKeepAlive are portable
// (applyConnOptions).
func checkSocketOptions(cfg resolved) error {
	if cfg.reusePort || cfg.reuseAddr || cfg.broadcast || cfg.recvBuf != 0 || cfg.sendBuf != 0 {
		return fmt.Errorf("transport: socket options: %w", errors.ErrUnsupported)
	}
	return nil
}

// socketControl has nothing to set: checkSocketOptions refused it.
func socketControl(cfg resolved) func(network, address string, rc syscall.RawConn) error {
	return nil
}

// deferAccept does nothing: TCP_DEFER_ACCEPT is Linux's. A ListenTLS
// server's silent set copes without it (tls_accept.go).
func deferAccept(ln net.Listener, d time.Duration) {}

// checkSocketType reports only whether sc is still open: off Linux the
// socket type is not checked (and the transports do not run).
func checkSocketType(sc syscall.Conn, want int) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(uintptr) {})
}

// Socket types for checkSocketType.
const (
	sockStream = 1
	sockDgram  = 2
)
