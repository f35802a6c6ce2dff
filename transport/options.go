package transport

import (
	"fmt"
	"math"
	"time"

	"github.com/rxnet/rxnet/internal/flow"
	"github.com/rxnet/rxnet/internal/sock"
)

// DefaultLimit, given as a write-buffer limit, stands for asyncio's None:
// that limit is derived from the other one (or both take their defaults).
const DefaultLimit = flow.Unset

// DefaultReadLimit is the most a stalled consumer makes a transport hold
// in read data (RD2), unless WithReadLimit says otherwise.
const DefaultReadLimit = 256 << 10

// DefaultEventBuffer is WithEventBuffer's n when none is given: a channel
// consumer's transport divides its read limit into reads of at most a
// quarter of it, so 64 KiB with DefaultReadLimit. It does not size the
// event channel, which has one slot.
const DefaultEventBuffer = 4

// The upper bounds of the numeric options: a larger value is an error
// (ER1), not an allocation that fails later.
const (
	maxEventBuffer = 1 << 16       // reads the read limit is divided into
	maxReadLimit   = 1 << 30       // bytes: 1 GiB
	maxSocketBuf   = math.MaxInt32 // bytes: setsockopt takes a C int
	maxKeepAlive   = 32767 * time.Second
)

// Option configures a transport, a Dial or a Listen. Options are validated
// once, when the transport is made: a bad one makes Dial or Listen return
// an error, never panic. Each option's doc says which constructors it
// applies to; given to any other, it is an error wrapping
// ErrInvalidOption, never silently ignored. DialTLS and ListenTLS take
// what Dial and Listen take, and Dial and Listen given WithTLS take the
// TLS options too. An option given to Listen applies to the server and
// to every transport it accepts. Shell takes what Exec takes.
type Option func(*config)

type config struct {
	high, low   int
	readLimit   int
	eventBuffer int
	halfClose   bool
	noDelay     *bool
	keepAlive   time.Duration
	reusePort   bool
	noServe     bool // WithStartServing(false)
	reuseAddr   bool
	broadcast   bool
	recvBuf     int
	sendBuf     int
	localAddr   string
	stdio       [3]Stdio
	tls         tlsOptions
	onError     func(error) // WithErrorHandler's; nil: the standard logger
	pooled      bool        // WithPooledData
	errs        []error
	used        []optionUse // the options given, for checkScope
}

// WithWriteBufferLimits sets the write buffer's high- and low-water marks
// in bytes, with SetWriteBufferLimits's rules: DefaultLimit for either
// derives it from the other (low = high/4, high = 4*low); high 0 forces
// low 0; a negative value or low > high is an error. It applies to every
// constructor that makes a transport that writes: all but ReadPipe and
// StartTLS.
func WithWriteBufferLimits(high, low int) Option {
	return scoped("WithWriteBufferLimits", transports&^kReadPipe, func(c *config) { c.high, c.low = high, low })
}

// WithReadLimit bounds the read data a transport holds for a consumer that
// does not keep up: at most n bytes. A channel consumer's transport then
// holds two reads, the one in the channel's slot and the one being sent
// (a subprocess: one being sent per output pipe), each at most a fraction
// of n set by WithEventBuffer (a quarter by default); the Protocol adapter
// holds one read of at most min(n, 64 KiB) (a BufferedProtocol's reads go
// into its own buffers, as large as they are). A datagram endpoint counts in
// datagrams instead: a stalled channel consumer makes it hold two, of up
// to 64 KiB each, whatever n is.
// Zero means DefaultReadLimit; a negative n or one over 1 GiB is an error.
// It applies to every constructor that makes a transport that reads: all
// but WritePipe and StartTLS.
func WithReadLimit(n int) Option {
	return scoped("WithReadLimit", transports&^kWritePipe, func(c *config) { c.readLimit = c.bounded("read limit", n, maxReadLimit) })
}

// WithHalfClose keeps the transport open after the peer's EOF, so it can
// still write (asyncio's eof_received returning true); the consumer then
// closes it. Without it the transport closes itself after EOF, flushing
// its writes first. A channel or Observable consumer's transport does so
// once the consumer has taken EOF, and Lost(nil) comes before that flush:
// Done reports its end. It applies to Dial, DialTLS, Listen and ListenTLS
// (a pipe always closes at EOF).
func WithHalfClose() Option {
	return scoped("WithHalfClose", streams, func(c *config) { c.halfClose = true })
}

// WithEventBuffer divides the read limit into reads: for a channel or
// Observable consumer, each read is at most the read limit divided by n
// bytes (n at least 2: 1 counts as 2), and at most 64 KiB. It does not
// size the event channel: that has one slot, whatever n is, so a consumer
// that stops receiving makes the transport hold two reads at most, the one
// in the slot and the one being sent. The Protocol adapter reads min(read
// limit, 64 KiB) at a time, and a datagram endpoint one datagram, whatever
// n is. Zero means DefaultEventBuffer; a negative n or one over 65536 is
// an error. It applies to every constructor but StartTLS, which keeps the
// transport's read size.
func WithEventBuffer(n int) Option {
	return scoped("WithEventBuffer", transports, func(c *config) { c.eventBuffer = c.bounded("event buffer", n, maxEventBuffer) })
}

// WithNoDelay sets TCP_NODELAY on TCP connections, dialed or accepted
// (Go's default is on), through net.TCPConn.SetNoDelay, so it works on
// every platform. It applies to Dial, DialTLS, Listen and ListenTLS, and
// is ignored on Unix sockets.
func WithNoDelay(on bool) Option {
	return scoped("WithNoDelay", streams, func(c *config) { c.noDelay = &on })
}

// WithKeepAlive sets TCP keep-alive on TCP connections, dialed or
// accepted: a positive d turns it on with d (rounded up to whole seconds)
// as both the idle time and the probe interval, leaving the probe count
// to the system; a negative d turns it off; zero keeps Go's default (on,
// 15 s). It goes through net.TCPConn.SetKeepAliveConfig, so it works on
// every platform. A d over 32767 s (Linux's limit) is an error. It applies
// to Dial, DialTLS, Listen and ListenTLS, and is ignored on Unix sockets.
func WithKeepAlive(d time.Duration) Option {
	return scoped("WithKeepAlive", streams, func(c *config) {
		if d > maxKeepAlive {
			c.errs = append(c.errs, fmt.Errorf("transport: keep-alive %v is over %v", d, maxKeepAlive))
		}
		c.keepAlive = d
	})
}

// WithReusePort sets SO_REUSEPORT on a socket before it binds, so several
// listeners can share a port. It applies to the socket constructors:
// Listen, ListenTLS, ListenPacket, Dial, DialTLS and DialPacket. Linux
// only: elsewhere it is an error wrapping errors.ErrUnsupported.
func WithReusePort() Option {
	return scoped("WithReusePort", sockets, func(c *config) { c.reusePort = true })
}

// WithStartServing(false) makes Listen and ListenTLS bind and listen but
// not accept yet (asyncio's start_serving=False): no goroutine runs and
// no connection is taken from the kernel's backlog (on a ListenTLS
// server, no handshake starts) until Server.StartServing, or the first
// Accept, Transports or Observable subscription, starts serving.
// WithStartServing(true) is the default. It applies to Listen and
// ListenTLS only.
func WithStartServing(on bool) Option {
	return scoped("WithStartServing", listens, func(c *config) { c.noServe = !on })
}

// WithReuseAddr sets SO_REUSEADDR on the socket before it binds. (Go
// already sets it on stream listeners.) It applies to the socket
// constructors, as WithReusePort. Linux only: elsewhere it is an error
// wrapping errors.ErrUnsupported.
func WithReuseAddr() Option {
	return scoped("WithReuseAddr", sockets, func(c *config) { c.reuseAddr = true })
}

// WithBroadcast sets SO_BROADCAST, so a UDP endpoint may send to a
// broadcast address. It applies to ListenPacket and DialPacket only.
// Linux only, like WithReuseAddr.
func WithBroadcast() Option {
	return scoped("WithBroadcast", packets, func(c *config) { c.broadcast = true })
}

// WithReceiveBuffer sets the socket's kernel receive buffer (SO_RCVBUF)
// to n bytes before it binds; the kernel may round or double it. Zero
// keeps the system default; a negative n or one over math.MaxInt32 is an
// error. It applies to the socket constructors, as WithReusePort. Linux
// only, like WithReuseAddr.
func WithReceiveBuffer(n int) Option {
	return scoped("WithReceiveBuffer", sockets, func(c *config) { c.recvBuf = c.bounded("receive buffer", n, maxSocketBuf) })
}

// WithSendBuffer sets the socket's kernel send buffer (SO_SNDBUF), with
// WithReceiveBuffer's rules and scope.
func WithSendBuffer(n int) Option {
	return scoped("WithSendBuffer", sockets, func(c *config) { c.sendBuf = c.bounded("send buffer", n, maxSocketBuf) })
}

// WithLocalAddr binds the socket that Dial, DialTLS or DialPacket opens
// to addr (asyncio's local_addr) before it connects; it applies to those
// three only (Listen takes its address as an argument). A unixgram client needs it
// to receive replies. The empty string, the default, lets the system
// choose.
func WithLocalAddr(addr string) Option {
	return scoped("WithLocalAddr", dials|kDialPacket, func(c *config) { c.localAddr = addr })
}

// Stdio says where Exec connects one of the child's standard streams.
type Stdio uint8

const (
	// Pipe connects the stream to the transport through a pipe (the
	// default, as asyncio's PIPE).
	Pipe Stdio = iota
	// Inherit gives the child the parent's own stream.
	Inherit
	// Discard connects the stream to the null device (asyncio's DEVNULL).
	Discard
	// Stdout sends stderr where stdout goes (asyncio's STDOUT); WithStderr
	// only.
	Stdout
)

// WithStdin says where Exec connects the child's stdin: Pipe (the
// default), Inherit or Discard. The three stdio options apply to Exec and
// Shell only.
func WithStdin(s Stdio) Option { return withStdio("WithStdin", 0, s) }

// WithStdout says where Exec connects the child's stdout: Pipe (the
// default), Inherit or Discard.
func WithStdout(s Stdio) Option { return withStdio("WithStdout", 1, s) }

// WithStderr says where Exec connects the child's stderr: Pipe (the
// default), Inherit, Discard, or Stdout to merge it into stdout.
func WithStderr(s Stdio) Option { return withStdio("WithStderr", 2, s) }

func withStdio(name string, fd int, s Stdio) Option {
	return scoped(name, procs, func(c *config) {
		if s > Stdout || (s == Stdout && fd != 2) {
			c.errs = append(c.errs, fmt.Errorf("transport: Stdio %d is not valid for fd %d", s, fd))
		}
		c.stdio[fd] = s
	})
}

// bounded returns n, recording an error when it is negative or over most.
func (c *config) bounded(what string, n, most int) int {
	switch {
	case n < 0:
		c.errs = append(c.errs, fmt.Errorf("transport: negative %s %d", what, n))
	case n > most:
		c.errs = append(c.errs, fmt.Errorf("transport: %s %d is over %d", what, n, most))
	}
	return n
}

// resolved is a validated configuration.
type resolved struct {
	config
	limits    flow.Limits
	readLimit int
	readSize  int // bytes per read in channel mode
}

// resolve applies opts, given to the constructor k, and validates them:
// an option that does not apply to k is an error wrapping
// ErrInvalidOption, and so is a nil one.
func resolve(opts []Option, k kinds) (resolved, error) {
	c := config{high: DefaultLimit, low: DefaultLimit}
	for _, o := range opts {
		if o == nil {
			return resolved{}, fmt.Errorf("%w: nil Option given to %s", ErrInvalidOption, kindNames[k])
		}
		o(&c)
	}
	if err := c.checkScope(k); err != nil {
		return resolved{}, err
	}
	if len(c.errs) > 0 {
		return resolved{}, c.errs[0]
	}
	limits, err := flow.Resolve(c.high, c.low)
	if err != nil {
		return resolved{}, invalidLimits(err)
	}
	r := resolved{config: c, limits: limits, readLimit: c.readLimit}
	if r.readLimit == 0 {
		r.readLimit = DefaultReadLimit
	}
	if r.eventBuffer == 0 {
		r.eventBuffer = DefaultEventBuffer
	}
	r.eventBuffer = max(r.eventBuffer, 2)
	r.readSize = min(max(r.readLimit/r.eventBuffer, 1), sock.MaxRead)
	r.tls.defaults()
	if err := checkSocketOptions(r); err != nil {
		return resolved{}, err
	}
	return r, nil
}
