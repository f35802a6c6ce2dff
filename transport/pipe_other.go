//go:build !unix

package transport

import (
	"errors"
	"fmt"
	"os"
)

// ReadPipe returns an error wrapping errors.ErrUnsupported off Unix.
func ReadPipe(f *os.File, opts ...Option) (ReadTransport, error) {
	return nil, fmt.Errorf("transport: pipes: %w", errors.ErrUnsupported)
}

// WritePipe returns an error wrapping errors.ErrUnsupported off Unix.
func WritePipe(f *os.File, opts ...Option) (WriteTransport, error) {
	return nil, fmt.Errorf("transport: pipes: %w", errors.ErrUnsupported)
}

// watchReader is never called: there are no write pipes off Unix.
func (c *conn) watchReader() {}

// readerGone is never called: there are no write pipes off Unix.
func (c *conn) readerGone() {}
