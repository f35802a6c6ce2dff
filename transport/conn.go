package transport

import (
	"net"
	"sync/atomic"
	"syscall"

	"github.com/rxnet/rxnet/internal/sink"
	"github.com/rxnet/rxnet/internal/sock"
	"github.com/rxnet/rxnet/internal/writebuf"
)

// streamConn is what a stream transport runs on: *net.TCPConn or
// *net.UnixConn.
type streamConn interface {
	net.Conn
	syscall.Conn
	CloseWrite() error
}

// What a conn runs on: a socket, or one end of a pipe (pipe.go).
type pipeKind uint8

const (
	notPipe pipeKind = iota
	readPipe
	writePipe
)

// conn is the stream transport for TCP and Unix sockets.
//
// There is one per connection, so its flags sit together at the end,
// where padding costs least. It is 592 bytes (the 640-byte size class):
// 16 fewer would put it back in the 576-byte class it had before issue
// 14's fields.
type conn struct {
	core
	nc      streamConn
	readCap int // bytes per read

	// Guarded by c.mu.
	buf   writebuf.Buffer
	views [][]byte // the flush goroutine's scratch
	sec   *secure  // the TLS layer, once its handshake is done
	up    *upgrade // a StartTLS in progress, with the writes made meanwhile

	// Guarded by c.mu: SendFile (sendfile_conn.go).
	emptied chan struct{} // closed once the buffer is empty, for SendFile

	tlsOn      atomic.Bool // TLS, or StartTLS asked: plain reading stops
	flowNoted  atomic.Bool // a record paused or resumed the flow (noteFlow)
	leaving    atomic.Bool // Unloop has begun: the loop reads no more (loopRead)
	pipe       pipeKind    // a socket, or one end of a pipe
	eofWritten bool        // guarded by c.mu
	sending    bool        // guarded by c.mu: a SendFile runs
	readingTLS bool        // the read goroutine's: it reads through TLS
	loopEOF    bool        // the loop's: it read EOF
	loopBulk   bool        // the loop's: the last pooled read was bulk (loopBuffer)
}

var (
	_ Transport     = (*conn)(nil)
	_ sink.Attacher = (*conn)(nil)
)

// newConn wraps an established connection. It does not read until its
// events are claimed.
func newConn(nc streamConn, cfg resolved) (*conn, error) {
	c := &conn{nc: nc, readCap: cfg.readSize}
	if err := c.init(nc, cfg, c.read, c.buf.Reset, sock.New); err != nil {
		return nil, err
	}
	c.onClose = c.closeStarted
	c.startLoop = c.putOnLoop
	return c, nil
}

// Attach implements sink.Attacher.
func (c *conn) Attach(h sink.Handler) bool {
	return c.attach(h, func() {
		c.halfClose = true // the adapter closes when EOFReceived says so
		c.readCap = min(c.readLimit, sock.MaxRead)
	})
}

// CloseAfterEOF implements sink.Attacher.
func (c *conn) CloseAfterEOF() { c.close(false) }
