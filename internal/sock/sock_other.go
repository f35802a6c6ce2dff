//go:build !unix

package sock

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// FD is unsupported off Unix.
type FD struct{}

// New returns an error wrapping errors.ErrUnsupported off Unix.
func New(c syscall.Conn, stop func() bool) (*FD, error) {
	return nil, fmt.Errorf("sock: non-blocking descriptors: %w", errors.ErrUnsupported)
}

// Read is unsupported off Unix.
func (f *FD) Read(size int) (*bufpool.Buf, int, error) {
	return nil, 0, errors.ErrUnsupported
}

// TryWrite is unsupported off Unix.
func (f *FD) TryWrite(p []byte) (int, error) { return 0, errors.ErrUnsupported }

// Writev is unsupported off Unix.
func (f *FD) Writev(bufs [][]byte) (int, error) { return 0, errors.ErrUnsupported }

// TryWritev is unsupported off Unix.
func (f *FD) TryWritev(bufs [][]byte) (int, error) { return 0, errors.ErrUnsupported }

// ReadInto is unsupported off Unix.
func (f *FD) ReadInto(p []byte, stoppable bool) (int, error) { return 0, errors.ErrUnsupported }

// Interrupt is unsupported off Unix.
func (f *FD) Interrupt() error { return errors.ErrUnsupported }

// Resume is unsupported off Unix.
func (f *FD) Resume() error { return errors.ErrUnsupported }

// TryReadInto is unsupported off Unix.
func (f *FD) TryReadInto(p []byte) (int, error) { return 0, errors.ErrUnsupported }

// Readable is unsupported off Unix: it reports false.
func (f *FD) Readable() bool { return false }

// Sysfd is unsupported off Unix.
func (f *FD) Sysfd() (int, error) { return -1, errors.ErrUnsupported }

// HungUp reports false: there are no pipes to watch here.
func (f *FD) HungUp() bool { return false }
