//go:build unix && !linux

package sock

import (
	"errors"
	"fmt"
	"syscall"
)

// dgram is empty: datagram sockets are Linux only for now.
type dgram struct{}

// NewDatagram returns an error wrapping errors.ErrUnsupported off Linux.
func NewDatagram(c syscall.Conn, stop func() bool) (*FD, error) {
	return nil, fmt.Errorf("sock: datagram sockets: %w", errors.ErrUnsupported)
}
