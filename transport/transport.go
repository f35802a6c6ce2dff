package transport

import (
	"context"
	"crypto/tls"
	"net"
	"os"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// BaseTransport is what every transport has (asyncio's BaseTransport).
//
// Multiple goroutines may invoke methods on a BaseTransport
// simultaneously, in every state, after Lost too.
type BaseTransport interface {
	// Close closes the transport: reading stops at once, later writes are
	// refused, buffered writes are flushed, then the descriptor is closed
	// and Lost is delivered (nil, unless the flush failed). Lost does not
	// wait for a channel consumer to catch up: the one event it has not
	// received is dropped to make room for Lost, except Made, which Lost
	// waits behind (a subprocess transport drops none: see
	// SubprocessTransport). Close is idempotent: a second call does nothing
	// and returns nil. It never waits for the flush: wait on Done, then
	// read Err, to learn that it ended and how.
	Close() error
	// Abort closes the transport at once, dropping buffered writes (a
	// subprocess transport also kills its child); Lost(nil) follows, and
	// the event a channel consumer has not received may be dropped (Made
	// never is). It is idempotent and a no-op after Lost. Every transport
	// has it (asyncio's read pipes lack it).
	Abort()
	// Done returns a channel that is closed once the transport has ended:
	// its descriptor is closed (after Close's flush and, for TLS, the
	// close_notify exchange) and Lost's error is decided, whether or not
	// anyone consumes the events. A consumer still gets Lost after it,
	// except a channel consumer whose transport closes itself after the
	// peer's EOF: that one gets Lost(nil) first, then the transport flushes
	// and closes, and then Done is closed. A subprocess transport is done
	// once its child is reaped and every pipe is closed. A transport whose
	// events are not claimed reads nothing, so it sees the peer's end only
	// when a write fails: Close or Abort it. Done returns the same channel
	// on every call (asyncio's wait_closed, context.Context's Done).
	Done() <-chan struct{}
	// Err returns nil until Done is closed, then Lost's error for good:
	// nil for a clean end (EOF then close, Close with a complete flush,
	// Abort), the error otherwise (a reset during Close's flush, a failed
	// read, a TLS failure, a panicking callback). After the peer's EOF
	// without WithHalfClose, a channel consumer's Lost(nil) comes before
	// the closing flush: a failure of that flush goes to WithErrorHandler's
	// function (or the standard logger), and Err stays nil.
	Err() error
	// IsClosing reports whether Close or Abort was called or the transport
	// failed, or, after the peer's EOF without WithHalfClose, whether a
	// channel consumer has received the Lost(nil) that follows EOF (the
	// transport is closing itself then). It stays true for good.
	IsClosing() bool
	// ExtraInfo returns optional information about the transport under
	// asyncio's get_extra_info keys (InfoPeername, InfoSockname,
	// InfoSocket, ...: see the Info constants); ok is false for an
	// unknown key. The values are recorded when the transport is made and
	// survive it. Go code has typed accessors for the common ones:
	// LocalAddr, RemoteAddr, ConnectionState.
	ExtraInfo(name string) (v any, ok bool)
	// Events claims the transport's events for a channel consumer and
	// returns the channel; the first claim starts reading. The channel has
	// one slot: a consumer that stops receiving stops the reads, with at
	// most two events read and not received (the one in the slot and the
	// one being sent; for a subprocess, one being sent per output pipe),
	// and the peer is held back by the kernel. Every call returns the same
	// channel, as context.Context's Done does, so it may be called in a
	// select loop. The events are Made first, then Data (or the datagram
	// and subprocess kinds) in order, at most one EOF, PauseWriting and
	// ResumeWriting as the write buffer crosses its marks (they never block
	// a writer), and Lost last, exactly once; then the channel is closed. A
	// transport has one consumer: once an Observable subscription, an
	// adapter or Detach has claimed the events, Events returns a closed
	// channel holding a single Lost whose Err is
	// stream.ErrAlreadySubscribed.
	//
	// After a local Close or Abort the transport never waits for the
	// consumer: the event it has not received is dropped (asyncio delivers
	// no data after close), so what it still receives is a prefix of the
	// stream, never one with a gap. Made is never dropped: Lost waits
	// behind a Made not received yet. So claim the events only where you
	// will receive them: a consumer that claims and never receives
	// anything, not even Made, keeps one goroutine waiting once its
	// transport is closed locally. Without WithHalfClose, the consumer gets
	// Lost(nil) as soon as it takes the peer's EOF; the transport then
	// flushes and closes, and Done reports when that is over. Writes made
	// before the consumer received that Lost still go out; later ones
	// return an error matching net.ErrClosed.
	Events() <-chan stream.Event
	// Observable returns the transport's events as an rxgo Observable built
	// with rxgo.Defer: its first subscription (Observe) claims the events,
	// as Events does, and is a channel consumer running on rxgo's goroutine
	// for the subscription, so Events's rules hold for it. Any other
	// subscription gets one stream.ErrAlreadySubscribed error item and
	// nothing else. Each item's value is a stream.Event; Lost is an
	// ordinary item, always the last, and the Observable then completes;
	// rxnet emits no other error items. The subscriber's context
	// (rxgo.WithContext, given here or to Observe) bounds the subscription:
	// cancelled before Lost, it aborts the transport, so nothing stays
	// half-read and every goroutine ends. Always give the final Observe a
	// context you cancel: rxgo starts a goroutine per subscription that
	// only ends with it. opts are passed to rxgo untouched.
	Observable(opts ...rxgo.Option) rxgo.Observable
	// Stats returns a snapshot of the transport's counters: bytes, events,
	// pauses. It may be called at any time, after Lost too.
	Stats() Stats
}

// ReadTransport is a transport that reads (asyncio's ReadTransport).
type ReadTransport interface {
	BaseTransport
	// PauseReading stops reading from the descriptor at once. A channel or
	// Observable consumer may still receive at most two events already read
	// (the one in the slot and the one being sent); the Protocol adapter
	// delivers no DataReceived after PauseReading returns (called from
	// another goroutine, it waits for a running callback to return). It is
	// idempotent and a no-op on a closing transport.
	PauseReading()
	// ResumeReading restarts reading after PauseReading. It is idempotent
	// and a no-op on a closing transport.
	ResumeReading()
	// IsReading reports whether reading is enabled: false when paused,
	// closing, or after EOF. (A transport whose events are not claimed yet
	// reports true: it reads as soon as they are.)
	IsReading() bool
}

// FlowControl is write flow control, the same on every transport that
// writes (WriteTransport, DatagramTransport): the write buffer's size
// against a high- and a low-water mark, PauseWriting and ResumeWriting
// events, and the Writable/Drain signals (asyncio's
// get_write_buffer_size, get_write_buffer_limits,
// set_write_buffer_limits, and StreamWriter.drain). adapters.NewWriter
// takes any io.Writer that has it.
//
// Multiple goroutines may invoke its methods simultaneously, in every
// state, after Lost too.
type FlowControl interface {
	// WriteBufferSize returns the number of buffered bytes not yet taken
	// by the kernel. On a DatagramTransport each queued datagram counts
	// its length plus DatagramOverhead.
	WriteBufferSize() int
	// WriteBufferLimits returns the high- and low-water marks.
	WriteBufferLimits() (high, low int)
	// SetWriteBufferLimits sets the marks (DefaultLimit for either stands
	// for asyncio's None) and applies them at once: it may pause or
	// resume. Bad limits return an error and change nothing.
	SetWriteBufferLimits(high, low int) error
	// Writable returns a channel that is closed while writing is not
	// paused. A new channel replaces it at every pause.
	Writable() <-chan struct{}
	// Drain returns nil at once when writing is not paused and waits for
	// the resume otherwise. Once the transport is closing it returns an
	// error matching net.ErrClosed: for a transport lost with an error,
	// one whose chain also holds that original error (errors.Is finds the
	// errno). It returns ctx.Err() when ctx ends first; ctx bounds the wait
	// only.
	Drain(ctx context.Context) error
}

// WriteTransport is a transport that writes (asyncio's WriteTransport),
// with write flow control (FlowControl).
type WriteTransport interface {
	BaseTransport
	// Write sends p at once if the write buffer is empty, without ever
	// blocking, and copies only what the kernel did not take; Write never
	// retains p. It returns len(p) and nil, or an error and 0: it never
	// writes part of p. On an open transport, empty writes do nothing;
	// after Close, Abort or a failure every write returns an error matching
	// net.ErrClosed, and after WriteEOF ErrEOFWritten. Without
	// WithHalfClose, a write after a channel consumer has received the
	// Lost(nil) that follows the peer's EOF returns an error matching
	// net.ErrClosed too.
	//
	// Because Write never blocks, io.Copy(t, r) (and any loop of writes
	// that ignores Writable) buffers whatever r yields, without limit,
	// while the peer reads slowly. To copy a stream, write through
	// adapters.NewWriter, whose Write waits for Drain above the high-water
	// mark, or wait on Drain yourself; for a file, use SendFile.
	Write(p []byte) (int, error)
	// WriteBuffers writes the buffers in order, as one writev when the
	// write buffer is empty, with exactly Write's checks.
	WriteBuffers(bufs [][]byte) (int64, error)
	// WriteEOF flushes the buffer, then shuts down the write side.
	// Later writes return ErrEOFWritten. A second call does nothing.
	WriteEOF() error
	// CanWriteEOF reports whether WriteEOF is supported.
	CanWriteEOF() bool
	FlowControl
}

// Transport is a stream transport: TCP, Unix, TLS (asyncio's Transport).
// It is always a socket: pipes are only a ReadTransport or a
// WriteTransport, and have no addresses.
//
// Multiple goroutines may invoke methods on a Transport simultaneously.
type Transport interface {
	ReadTransport
	WriteTransport
	// LocalAddr returns the socket's local address, as net.Conn's
	// LocalAddr (ExtraInfo's InfoSockname). It is recorded when the
	// transport is made and stays valid after Lost.
	LocalAddr() net.Addr
	// RemoteAddr returns the peer's address, as net.Conn's RemoteAddr
	// (ExtraInfo's InfoPeername). It is recorded when the transport is
	// made and stays valid after Lost.
	RemoteAddr() net.Addr
	// ConnectionState returns the state the TLS handshake ended with;
	// ok is false on a plain transport, and after StartTLS until its
	// handshake has completed (then it reports the upgraded state). It
	// stays valid after Lost.
	ConnectionState() (state tls.ConnectionState, ok bool)
}

// DatagramTransport is a datagram endpoint: UDP or unixgram (asyncio's
// DatagramTransport). Its events are Made, one Datagram per datagram
// received, DatagramError for socket errors that do not end it,
// PauseWriting and ResumeWriting, and Lost last.
//
// Multiple goroutines may invoke methods on a DatagramTransport
// simultaneously.
type DatagramTransport interface {
	ReadTransport
	// LocalAddr returns the socket's local address (ExtraInfo's
	// InfoSockname). It is recorded when the endpoint is made and stays
	// valid after Lost.
	LocalAddr() net.Addr
	// RemoteAddr returns the peer of a connected endpoint (DialPacket's
	// raddr; ExtraInfo's InfoPeername), and nil for an unconnected one
	// (ListenPacket), which has no peer: each Datagram event carries its
	// sender. It stays valid after Lost.
	RemoteAddr() net.Addr
	// SendTo sends p as one datagram to addr, or to the connected peer
	// when addr is nil, without ever blocking, and never retains p: it
	// sends at once when nothing is queued and copies the datagram
	// otherwise. Empty datagrams are sent. It returns an error, and sends
	// nothing, for a nil addr on an unconnected endpoint, an addr other
	// than the peer on a connected one, or an address of the wrong kind;
	// after Close, Abort or a failure it returns an error matching
	// net.ErrClosed. A socket error while sending (ECONNREFUSED, EMSGSIZE,
	// ...) drops that datagram and arrives as a DatagramError event, as
	// asyncio's error_received: SendTo then returns nil.
	SendTo(p []byte, addr net.Addr) error
	FlowControl
}

// SubprocessTransport is a child process with its standard streams as
// pipes (asyncio's SubprocessTransport). Its events are Made, PipeData
// (Event.FD 1 or 2), PipeLost once per pipe, Exited once,
// PauseWriting and ResumeWriting for the stdin pipe, and Lost last, after
// Exited and every PipeLost.
//
// Multiple goroutines may invoke methods on a SubprocessTransport
// simultaneously.
type SubprocessTransport interface {
	BaseTransport
	// PID returns the child's process id.
	PID() int
	// ReturnCode returns the child's exit code once it has exited (ok is
	// false before): negative for a signal, as asyncio (-9 for SIGKILL).
	ReturnCode() (code int, ok bool)
	// Stdin returns the transport of the child's stdin pipe, for
	// drain-aware writes (asyncio's get_pipe_transport(0)); ok is false
	// when stdin is not a pipe. The events of the pipe transports are the
	// subprocess transport's: Events on one reports
	// stream.ErrAlreadySubscribed.
	Stdin() (t WriteTransport, ok bool)
	// Stdout returns the transport of the child's stdout pipe
	// (get_pipe_transport(1)), to pause and resume its reading; ok is
	// false when stdout is not a pipe.
	Stdout() (t ReadTransport, ok bool)
	// Stderr returns the transport of the child's stderr pipe
	// (get_pipe_transport(2)); ok is false when stderr is not a pipe
	// (WithStderr(Stdout) merges it into stdout's).
	Stderr() (t ReadTransport, ok bool)
	// PipeTransport is asyncio's get_pipe_transport, for porters: the
	// transport of fd 0 (as Stdin's), 1 or 2 (as Stdout's and Stderr's),
	// ok false for a stream that is not a pipe and for any other fd. Go
	// code uses the typed Stdin, Stdout and Stderr.
	PipeTransport(fd int) (t BaseTransport, ok bool)
	// Kill sends SIGKILL to the child.
	Kill() error
	// Terminate sends SIGTERM to the child.
	Terminate() error
	// SendSignal sends sig to the child. Once the child has exited, it and
	// Kill and Terminate return an error matching os.ErrProcessDone and
	// signal nothing (so never a process that reused the id).
	SendSignal(sig os.Signal) error
}
