//go:build !linux

package transport

import (
	"errors"
	"fmt"
	"syscall"
)

// checkSocketOptions: WithNoDelay, WithKeepAlive and WithReusePort are
// Linux only for now.
func checkSocketOptions(cfg resolved) error {
	if cfg.noDelay != nil || cfg.keepAlive != 0 || cfg.reusePort {
		return fmt.Errorf("transport: WithNoDelay, WithKeepAlive, WithReusePort: %w", errors.ErrUnsupported)
	}
	return nil
}

// applyConnOptions has nothing to apply: checkSocketOptions refused them.
func applyConnOptions(nc streamConn, cfg resolved) error { return nil }

// listenControl has nothing to set: checkSocketOptions refused it.
func listenControl(cfg resolved) (func(network, address string, rc syscall.RawConn) error, error) {
	return nil, nil
}
