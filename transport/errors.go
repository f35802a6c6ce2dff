package transport

import (
	"errors"
	"fmt"
	"net"
)

// ErrEOFWritten is returned by Write and WriteBuffers after WriteEOF.
var ErrEOFWritten = errors.New("transport: write after WriteEOF")

// ErrUnknownNetwork is returned by Dial and Listen for a network they do
// not support.
var ErrUnknownNetwork = errors.New("transport: unknown network")

// errClosedLocally is what writes and Drain return after a local Close or
// Abort: it matches net.ErrClosed.
var errClosedLocally = fmt.Errorf("transport: closed: %w", net.ErrClosed)

// lostError is what writes and Drain return once a transport was lost with
// an error: it matches net.ErrClosed and keeps the cause in its chain.
type lostError struct{ cause error }

// Error says the transport was lost, and why.
func (e *lostError) Error() string { return "transport: lost: " + e.cause.Error() }

// Unwrap returns net.ErrClosed and the cause, for errors.Is and errors.As.
func (e *lostError) Unwrap() []error { return []error{net.ErrClosed, e.cause} }

// ErrBadAddress is returned by SendTo for an address it cannot send to: a
// nil address on an unconnected endpoint, an address other than the peer
// on a connected one, or an address of another family or type.
var ErrBadAddress = errors.New("transport: invalid address")

// ErrNotPipe is returned by ReadPipe and WritePipe for a file that is not
// a pipe, a FIFO, a socket or a character device (a regular file, say).
var ErrNotPipe = errors.New("transport: not a pipe, socket or character device")

// errReadPipe is what writing to a read pipe returns.
var errReadPipe = fmt.Errorf("transport: write to a read pipe: %w", errors.ErrUnsupported)

// ErrHelloTimeout is what a ListenTLS server reports (to
// WithHandshakeFailures) for a connection that sent nothing within the
// hello timeout (WithHelloTimeout), and closes. It matches
// ErrHandshakeTimeout and context.DeadlineExceeded.
var ErrHelloTimeout = fmt.Errorf("transport: no TLS ClientHello within the hello timeout: %w", ErrHandshakeTimeout)

// ErrHelloDisplaced is what a ListenTLS server reports (to
// WithHandshakeFailures) for a connection that had sent nothing yet when
// the server, holding as many such connections as it keeps, closed it to
// make room for a newer one.
var ErrHelloDisplaced = errors.New("transport: silent TLS connection closed to make room for a newer one")
