package transport

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/rxnet/rxnet/internal/bufpool"

	"github.com/rxnet/rxnet/internal/sock"
)

// maxSendFile bounds one sendfile(2) call; the socket buffer bounds it
// further.
const maxSendFile = 4 << 20

// The copy paths' chunks: sock's pooled 64 KiB read buffers.
func getChunk() *bufpool.Buf  { return sock.GetBuf() }
func putChunk(b *bufpool.Buf) { b.Put() }

// acquireWriter waits until the write buffer is empty and no other
// SendFile runs, then marks SendFile as running (c.sending). On a plain
// conn SendFile also takes the write side (c.flushing), as the flush
// goroutine does, so that writes made meanwhile are buffered after the
// file. It reports whether c speaks TLS (or is becoming TLS): then
// SendFile goes through Write.
func (c *conn) acquireWriter(ctx context.Context) (secure bool, err error) {
	for {
		c.mu.Lock()
		if err := c.writeErrLocked(); err != nil {
			c.mu.Unlock()
			return false, err
		}
		if !c.flushing && !c.sending {
			c.sending = true
			secure = c.up != nil || c.sec != nil
			c.flushing = !secure
			c.mu.Unlock()
			return secure, nil
		}
		if c.emptied == nil {
			c.emptied = make(chan struct{})
		}
		emptied, done := c.emptied, c.doneLocked()
		c.mu.Unlock()
		select {
		case <-emptied:
		case <-done: // writeErrLocked says why
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// releaseWriter ends what acquireWriter began: on a plain conn it hands
// the write side to the flush goroutine when writes were buffered
// meanwhile, or finishes a Close or WriteEOF made meanwhile.
func (c *conn) releaseWriter(secure bool) {
	c.mu.Lock()
	c.sending = false
	switch {
	case secure:
		if !c.flushing {
			c.emptiedLocked()
		}
		c.mu.Unlock()
	case c.state == stateDone:
		c.flushing = false
		c.mu.Unlock()
	case c.buf.Len() > 0:
		c.kickFlushLocked()
		c.mu.Unlock()
	default:
		c.flushing = false
		c.emptiedLocked()
		c.flushed() // releases c.mu
	}
}

// emptiedLocked wakes the SendFile calls waiting for an empty buffer.
// c.mu is held.
func (c *conn) emptiedLocked() {
	if c.emptied != nil {
		close(c.emptied)
		c.emptied = nil
	}
}

// sendOwned is the plain path, holding the write side: sendfile(2) for
// a regular file, unless it refuses the file at once; a copy otherwise.
func (c *conn) sendOwned(ctx context.Context, r *region) (int64, error) {
	defer c.interruptWrites(ctx)()
	if r.regular {
		sent, native, err := c.sendNative(ctx, r)
		if native || err != nil {
			return sent, err
		}
	}
	return c.copyOwned(ctx, r)
}

// interruptWrites makes a cancelled ctx end SendFile's wait for the
// socket, through the write deadline (nobody else writes meanwhile); the
// function it returns stops that and clears the deadline.
func (c *conn) interruptWrites(ctx context.Context) (undo func()) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.nc.SetWriteDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
			_ = c.nc.SetWriteDeadline(time.Time{})
		}
	}
}

// sendNative sends r with sendfile(2). It reports native false when
// sendfile refused the file before sending anything: then nothing was
// sent and the caller copies.
func (c *conn) sendNative(ctx context.Context, r *region) (sent int64, native bool, err error) {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	for r.left != 0 {
		if err := c.beforeChunk(ctx); err != nil {
			return sent, true, err
		}
		var n int
		var serr error
		off := r.off
		if err := rc.Control(func(fd uintptr) {
			n, serr = c.fd.SendFile(int(fd), &off, r.chunk(maxSendFile))
		}); err != nil {
			return sent, true, &os.PathError{Op: "sendfile", Path: r.f.Name(), Err: err}
		}
		switch {
		case serr != nil && sent == 0 && cannotSendFile(serr):
			return 0, false, nil
		case serr != nil:
			return sent, true, c.sendFailed(ctx, r, serr)
		case n == 0: // the end of the file
			return sent, true, nil
		}
		c.wrote(n)
		sent += int64(n)
		r.advance(n)
	}
	return sent, true, nil
}

// copyOwned is the plain copy: a chunk read from the file, then written
// to the socket, waiting while it is not writable.
func (c *conn) copyOwned(ctx context.Context, r *region) (int64, error) {
	buf := getChunk()
	defer putChunk(buf)
	var sent int64
	for {
		if err := c.beforeChunk(ctx); err != nil {
			return sent, err
		}
		n, rerr := r.read(buf.Bytes())
		for p := buf.Bytes()[:n]; len(p) > 0; {
			k, err := c.fd.Writev([][]byte{p})
			c.wrote(k)
			sent += int64(k)
			r.advance(k)
			if err != nil {
				return sent, c.sendFailed(ctx, r, err)
			}
			p = p[k:]
		}
		switch {
		case errors.Is(rerr, io.EOF):
			return sent, nil
		case rerr != nil:
			return sent, rerr
		}
	}
}

// beforeChunk returns why SendFile must stop before its next chunk: ctx
// ended, or the transport is closing or gone.
func (c *conn) beforeChunk(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen {
		return c.deadErr
	}
	return nil
}

// wrote counts n bytes SendFile wrote.
func (c *conn) wrote(n int) {
	c.mu.Lock()
	c.stats.written += int64(n)
	c.mu.Unlock()
}

// sendFailed returns what SendFile returns for err, met sending r: ctx's
// error when ctx ended the wait, the transport's when it closed
// meanwhile, an *os.PathError for the file's own errors (t stays
// usable); a socket error ends the transport, as a failed Write does.
func (c *conn) sendFailed(ctx context.Context, r *region, err error) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return cerr
	}
	if berr := c.beforeChunk(context.Background()); berr != nil {
		return berr
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && !socketErrno(errno) {
		return &os.PathError{Op: "sendfile", Path: r.f.Name(), Err: errno}
	}
	c.shut(c.opError("write", err))
	return c.writeErr()
}

// cannotSendFile reports whether sendfile(2) refused the file itself
// (before sending anything), so that copying it works.
func cannotSendFile(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSYS) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, errors.ErrUnsupported)
}

// socketErrno reports whether a failed sendfile(2) is the socket's
// fault rather than the file's.
func socketErrno(e syscall.Errno) bool {
	switch e {
	case syscall.EPIPE, syscall.ECONNRESET, syscall.ENOTCONN, syscall.ECONNABORTED,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN,
		syscall.ENETRESET:
		return true
	}
	return false
}
