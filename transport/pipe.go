//go:build unix

package transport

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/internal/sock"
)

// pipeFile makes a pipe's pollable *os.File look like a stream socket to
// conn.
type pipeFile struct {
	*os.File
	orig *os.File // the caller's file, closed with it; nil for a subprocess's pipes
}

func (pipeFile) LocalAddr() net.Addr  { return nil }
func (pipeFile) RemoteAddr() net.Addr { return nil }
func (p pipeFile) CloseWrite() error  { return p.Close() }

func (p pipeFile) Close() error {
	err := p.File.Close()
	if p.orig != nil {
		p.orig.Close()
	}
	return err
}

// ReadPipe makes f, the read end of a pipe, a FIFO, a socket or a
// character device, a read transport (asyncio's connect_read_pipe). Its
// events are Made, Data, EOF and Lost: it always closes at EOF. A regular
// file or a directory is an error wrapping ErrNotPipe. The transport
// takes f over: it makes the descriptor non-blocking and closes f when it
// closes; ExtraInfo(InfoPipe) returns f. Abort closes it at once.
func ReadPipe(f *os.File, opts ...Option) (ReadTransport, error) {
	c, err := openPipe(f, readPipe, kReadPipe, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// WritePipe makes f, the write end of a pipe, a FIFO, a socket or a
// character device, a write transport (asyncio's connect_write_pipe) with
// the stream transports' flow control. WriteEOF closes it like Close
// (after the flush). When the reader goes away the transport is lost: with
// a nil error when nothing was waiting to be written, with EPIPE when
// something was. It takes f over as ReadPipe does.
func WritePipe(f *os.File, opts ...Option) (WriteTransport, error) {
	c, err := openPipe(f, writePipe, kWritePipe, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func openPipe(f *os.File, kind pipeKind, k kinds, opts []Option) (*conn, error) {
	cfg, err := resolve(opts, k)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, fmt.Errorf("%w: nil file", ErrNotPipe)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Mode()&(os.ModeNamedPipe|os.ModeSocket|os.ModeCharDevice) == 0 {
		kind := "a regular file"
		if !fi.Mode().IsRegular() {
			kind = "of mode " + fi.Mode().Type().String()
		}
		return nil, fmt.Errorf("%w: %s is %s", ErrNotPipe, f.Name(), kind)
	}
	nf, err := pollable(f)
	if err != nil {
		return nil, err
	}
	c, err := newPipeConn(pipeFile{File: nf, orig: f}, kind, cfg)
	if err != nil {
		nf.Close()
		return nil, err
	}
	c.info.pipe = f
	return c, nil
}

// pollable returns a non-blocking duplicate of f's descriptor, which Go's
// poller can wait on.
func pollable(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, os.NewSyscallError("fcntl", derr)
	}
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

// newPipeConn makes the transport of one end of a pipe, which must be
// pollable.
func newPipeConn(pf pipeFile, kind pipeKind, cfg resolved) (*conn, error) {
	c := &conn{nc: pf, readCap: cfg.readSize, pipe: kind}
	if err := c.init(pf, cfg, c.read, c.buf.Reset, sock.New); err != nil {
		return nil, err
	}
	c.info.raw = nil // a pipe has no InfoSocket
	c.eofRead = kind == writePipe
	c.startLoop = c.putOnLoop
	return c, nil
}

// watchReader is the read goroutine of a write pipe off the loops: it
// waits until the reader goes away (readerGone), or the transport closes
// the descriptor. A descriptor that cannot be watched (a character
// device) waits for the close.
func (c *conn) watchReader() {
	if err := c.fd.WaitHangup(); err != nil {
		<-c.Done()
		return
	}
	c.readerGone()
}

// readerGone ends a write pipe whose reader went away, seen by
// watchReader or by its loop (OnReadable): a reader gone with bytes still
// to write is a broken pipe; an idle one is a clean end.
func (c *conn) readerGone() {
	c.mu.Lock()
	done, pending := c.state == stateDone, c.buf.Len() > 0
	c.mu.Unlock()
	switch {
	case done:
	case pending:
		c.shut(c.opError("write", unix.EPIPE))
	default:
		c.shut(nil)
	}
}
