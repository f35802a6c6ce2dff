// Package sock is the one seam through which rxnet transports wait for a
// descriptor to become readable or writable and move bytes through it.
//
// Today each transport's read goroutine parks in Go's runtime poller
// (syscall.RawConn); a later step replaces this package with a poller that
// needs no goroutine per idle connection, behind the same methods.
//
// Read borrows a buffer only once the descriptor is readable, so an idle
// connection holds no read buffer.
package sock

import (
	"errors"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// MaxRead is the largest read one Read call makes.
const MaxRead = 64 << 10

// SmallRead is the size of GetSmallBuf's buffers: a TLS record's
// plaintext at most, which is all one tls.Conn.Read returns.
const SmallRead = 16 << 10

// GetBuf borrows a MaxRead-byte buffer from internal/bufpool (whose free
// lists survive collections); its Put gives it back.
func GetBuf() *bufpool.Buf { return bufpool.Get(MaxRead) }

// GetSmallBuf borrows a SmallRead-byte buffer; its Put gives it back.
func GetSmallBuf() *bufpool.Buf { return bufpool.Get(SmallRead) }

// ErrStopped is returned by Read when its stop function asked it not to read.
var ErrStopped = errors.New("sock: read stopped")

// ErrWouldBlock is returned by TryReadInto when there is nothing to read.
var ErrWouldBlock = errors.New("sock: nothing to read now")

// ErrInterrupted is returned by a read that Interrupt woke.
var ErrInterrupted = errors.New("sock: read interrupted")
