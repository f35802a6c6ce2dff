package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// ErrEOFWritten is returned by Write and WriteBuffers after WriteEOF.
var ErrEOFWritten = errors.New("transport: write after WriteEOF")

// ErrInvalidOption is matched by the error of a constructor (Dial,
// Listen, ListenPacket, Exec, StartTLS, ...) given an option that does not
// apply to it, such as WithStdin given to Dial or WithServerSide given to
// anything but StartTLS; the message names the option and the
// constructor. Each option's doc says where it applies. A nil Option is
// such an error too. The constructor has then opened nothing.
var ErrInvalidOption = errors.New("transport: invalid option")

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

// ErrServerClosed is returned by Server.Accept once the server is closed or
// shutting down. It matches net.ErrClosed.
var ErrServerClosed = fmt.Errorf("transport: server closed: %w", net.ErrClosed)

// ErrNilTLSConfig is returned by DialTLS, ListenTLS, StartTLS and
// WithTLS for a nil *tls.Config.
var ErrNilTLSConfig = errors.New("transport: nil *tls.Config")

// ErrNotUpgradable is returned by StartTLS for a transport that cannot
// speak TLS: a datagram endpoint, a pipe, a subprocess, or a transport
// that already speaks TLS.
var ErrNotUpgradable = errors.New("transport: StartTLS needs a plain TCP or Unix stream transport")

// ErrSendFileUnsupported is matched by the error of SendFile given a
// transport it cannot send on: anything but a TCP or Unix stream
// transport of this package. It matches errors.ErrUnsupported.
var ErrSendFileUnsupported = fmt.Errorf("transport: SendFile needs a TCP or Unix stream transport of this package: %w", errors.ErrUnsupported)

// ErrHandshakeTimeout is matched by the error of a TLS handshake that
// WithHandshakeTimeout (or DefaultHandshakeTimeout) cut short; it also
// matches context.DeadlineExceeded.
var ErrHandshakeTimeout = fmt.Errorf("transport: TLS handshake timed out: %w", context.DeadlineExceeded)

// ErrShutdownTimeout is Lost's error when the peer did not answer Close's
// close_notify within the shutdown timeout (asyncio's "SSL shutdown timed
// out").
var ErrShutdownTimeout = errors.New("transport: TLS shutdown timed out waiting for the peer's close_notify")

// ErrTruncated is Lost's error when the peer closed its side of a TLS
// connection without a close_notify alert: the data may have been cut
// short by an attacker, so it is not a clean EOF. It matches
// io.ErrUnexpectedEOF.
var ErrTruncated = fmt.Errorf("transport: TLS connection closed without close_notify: %w", io.ErrUnexpectedEOF)

// ErrInvalidLimits is matched by the error of SetWriteBufferLimits, and of
// Dial, Listen and every other constructor given WithWriteBufferLimits,
// for limits that are negative, a low-water mark over the high-water mark,
// or a low-water mark too large to derive a high one from; the message
// says which. The limits are left unchanged.
var ErrInvalidLimits = errors.New("transport: invalid write buffer limits")

// invalidLimits wraps flow.Resolve's error in ErrInvalidLimits, keeping
// its detail in the message.
func invalidLimits(err error) error { return fmt.Errorf("%w: %v", ErrInvalidLimits, err) }

// ErrNotAdoptable is matched by the error of FromConn, FromListener and
// FromPacketConn for a socket they cannot drive: one of another kind (a
// net.Pipe, a *tls.Conn, a UDP conn given to FromConn, ...), of another
// socket type (a unixgram conn given to FromConn), or already closed. The
// socket is left as it was, still the caller's.
var ErrNotAdoptable = errors.New("transport: cannot adopt this socket")
