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
	"sync"
)

// MaxRead is the largest read one Read call makes.
const MaxRead = 64 << 10

// SmallRead is the size of GetSmallBuf's buffers: a TLS record's
// plaintext at most, which is all one tls.Conn.Read returns.
const SmallRead = 16 << 10

var (
	pool      = sync.Pool{New: func() any { b := make([]byte, MaxRead); return &b }}
	smallPool = sync.Pool{New: func() any { b := make([]byte, SmallRead); return &b }}
)

// GetBuf borrows a MaxRead-byte buffer, returned with PutBuf.
func GetBuf() *[]byte { return pool.Get().(*[]byte) }

// GetSmallBuf borrows a SmallRead-byte buffer, returned with PutBuf.
func GetSmallBuf() *[]byte { return smallPool.Get().(*[]byte) }

// PutBuf returns a buffer borrowed through Read, GetBuf or GetSmallBuf.
func PutBuf(b *[]byte) {
	if cap(*b) == SmallRead {
		smallPool.Put(b)
		return
	}
	pool.Put(b)
}

// ErrStopped is returned by Read when its stop function asked it not to read.
var ErrStopped = errors.New("sock: read stopped")

// ErrWouldBlock is returned by TryReadInto when there is nothing to read.
var ErrWouldBlock = errors.New("sock: nothing to read now")

// ErrInterrupted is returned by a read that Interrupt woke.
var ErrInterrupted = errors.New("sock: read interrupted")
