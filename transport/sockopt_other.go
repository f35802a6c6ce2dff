//go:build !linux

package transport

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// applyConnOptions: WithNoDelay and WithKeepAlive are Linux only for now.
func applyConnOptions(nc streamConn, cfg resolved) error {
	if _, tcp := nc.(*net.TCPConn); !tcp || (cfg.noDelay == nil && cfg.keepAlive == 0) {
		return nil
	}
	return fmt.Errorf("transport: WithNoDelay, WithKeepAlive: %w", errors.ErrUnsupported)
}

// listenControl: WithReusePort is Linux only for now.
func listenControl(cfg resolved) (func(network, address string, rc syscall.RawConn) error, error) {
	if !cfg.reusePort {
		return nil, nil
	}
	return nil, fmt.Errorf("transport: WithReusePort: %w", errors.ErrUnsupported)
}
