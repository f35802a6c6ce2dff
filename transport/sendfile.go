package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// SendFile sends count bytes of f, starting at offset, on t, and returns
// the number of bytes sent: asyncio's loop.sendfile. count <= 0 means up
// to the end of the file; a file shorter than offset+count ends the send
// early, without an error. offset is where to start, whatever f's
// position (asyncio's offset defaults to 0, not to the position). Once
// SendFile returns, a regular file's position is offset plus the bytes
// sent; f stays the caller's, open.
//
// SendFile first waits until t's write buffer is empty, so the file
// follows every earlier Write. Then, on a plain TCP or Unix transport
// and a regular file, it sends with sendfile(2) (Linux), which copies
// nothing into memory: each call sends what the kernel's socket buffer
// takes, and while that buffer is full SendFile waits for the socket to
// become writable. It copies instead, in bounded chunks (64 KiB), over
// TLS (through t's Write, with Drain between chunks, so WR4's flow
// control holds), for a file that is not a regular one (a pipe: read
// from its current position, offset must be 0), for a file that
// sendfile refuses before sending anything (EINVAL, ENOSYS, EOPNOTSUPP),
// and on other systems. Stats counts what it sent as written.
//
// Writes made while SendFile runs, from any goroutine, are sent after
// the file's bytes on a plain transport (they are buffered, counted by
// flow control, and may pause writing); over TLS they go between two
// chunks. A Close meanwhile stops SendFile before its next chunk, then
// flushes and closes as usual; WriteEOF on a plain transport waits for
// the file. A second SendFile on the same transport waits for the first,
// and for the writes buffered after it.
//
// ctx bounds the whole call: cancelling it stops the send before the
// next chunk (a wait for the socket ends at once; a read from a pipe
// that waits does not) and SendFile returns the bytes sent so far with
// ctx.Err(); the transport stays usable. A transport that is closing,
// closed or lost, or after WriteEOF, gives the error Write gives. t must
// be a TCP or Unix stream transport of this package (made by Dial,
// Listen, FromConn or StartTLS): anything else is an error matching
// ErrSendFileUnsupported. A nil f or a negative offset is an error
// matching os.ErrInvalid. An error reading f is an *os.PathError and
// leaves t usable; an error writing ends t, as a failed Write does.
//
// Any goroutine may call SendFile.
func SendFile(ctx context.Context, t Transport, f *os.File, offset, count int64) (int64, error) {
	c, ok := t.(*conn)
	if !ok || c == nil || c.pipe != notPipe {
		return 0, fmt.Errorf("%w, not a %T", ErrSendFileUnsupported, t)
	}
	r, err := newRegion(f, offset, count)
	if err != nil {
		return 0, err
	}
	secure, err := c.acquireWriter(ctx)
	if err != nil {
		return 0, err
	}
	var sent int64
	if secure {
		sent, err = c.copyThroughWrite(ctx, r)
	} else {
		sent, err = c.sendOwned(ctx, r)
	}
	c.releaseWriter(secure)
	if serr := r.settle(sent); err == nil {
		err = serr
	}
	return sent, err
}

// region is the part of a file that SendFile sends.
type region struct {
	f       *os.File
	regular bool  // a regular file: pread and sendfile(2) apply
	start   int64 // where the region begins
	off     int64 // the next byte to send
	left    int64 // bytes still to send; negative: up to the end
}

var errNilFile = fmt.Errorf("transport: SendFile of a nil *os.File: %w", os.ErrInvalid)

func newRegion(f *os.File, offset, count int64) (*region, error) {
	if f == nil {
		return nil, errNilFile
	}
	if offset < 0 {
		return nil, fmt.Errorf("transport: SendFile offset %d is negative: %w", offset, os.ErrInvalid)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := &region{f: f, regular: fi.Mode().IsRegular(), start: offset, off: offset, left: count}
	if count <= 0 {
		r.left = -1
	}
	if !r.regular && offset != 0 {
		return nil, fmt.Errorf("transport: SendFile offset %d in %s, which is not a regular file: %w", offset, f.Name(), os.ErrInvalid)
	}
	return r, nil
}

// chunk returns how many bytes to send next, at most max.
func (r *region) chunk(max int) int {
	if r.left >= 0 && r.left < int64(max) {
		return int(r.left)
	}
	return max
}

// advance records n bytes sent.
func (r *region) advance(n int) {
	r.off += int64(n)
	if r.left > 0 {
		r.left -= int64(n)
	}
}

// read reads the next chunk into p: from the region's offset in a
// regular file, from the current position otherwise. It returns io.EOF
// at the end of the region or of the file.
func (r *region) read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:r.chunk(len(p))]
	if r.regular {
		return r.f.ReadAt(p, r.off)
	}
	return r.f.Read(p)
}

// settle sets a regular file's position to start plus sent.
func (r *region) settle(sent int64) error {
	if !r.regular {
		return nil
	}
	_, err := r.f.Seek(r.start+sent, io.SeekStart)
	return err
}

// copyThroughWrite is the TLS path: chunks read from the file go through
// Write, each after a Drain.
func (c *conn) copyThroughWrite(ctx context.Context, r *region) (int64, error) {
	buf := getChunk()
	defer putChunk(buf)
	var sent int64
	for {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		if err := c.Drain(ctx); err != nil {
			return sent, err
		}
		n, rerr := r.read(buf.Bytes())
		if n > 0 {
			if _, err := c.Write(buf.Bytes()[:n]); err != nil {
				return sent, err
			}
			sent += int64(n)
			r.advance(n)
		}
		switch {
		case errors.Is(rerr, io.EOF):
			return sent, nil
		case rerr != nil:
			return sent, rerr
		}
	}
}
