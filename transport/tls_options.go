package transport

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake unless
// WithHandshakeTimeout says otherwise (asyncio's ssl_handshake_timeout).
const DefaultHandshakeTimeout = 60 * time.Second

// DefaultShutdownTimeout bounds the wait for the peer's close_notify after
// Close unless WithShutdownTimeout says otherwise (asyncio's
// ssl_shutdown_timeout).
const DefaultShutdownTimeout = 30 * time.Second

// DefaultHelloTimeout bounds how long a ListenTLS server waits for a new
// connection's first bytes unless WithHelloTimeout says otherwise.
const DefaultHelloTimeout = 10 * time.Second

// tlsOptions are the options of a TLS transport, a ListenTLS or a
// StartTLS.
type tlsOptions struct {
	config    *tls.Config // WithTLS: Dial and Listen speak TLS
	server    bool        // StartTLS: the server side of the handshake
	handshake time.Duration
	hello     time.Duration
	shutdown  time.Duration
	onFailure func(remote net.Addr, err error)
}

// WithTLS makes Dial (and adapters.Connect) and Listen speak TLS with
// tc, as DialTLS and ListenTLS do: the way to pass TLS through an
// API that takes options. A nil config is an error. It applies to Dial
// and Listen only: DialTLS, ListenTLS and StartTLS take their config as
// an argument.
func WithTLS(tc *tls.Config) Option {
	return scoped("WithTLS", kDial|kListen, func(c *config) {
		if tc == nil {
			c.errs = append(c.errs, ErrNilTLSConfig)
		}
		c.tls.config = tc
	})
}

// WithServerSide makes StartTLS run the server side of the handshake (the
// default is the client side). config must then hold a certificate. It
// applies to StartTLS only: Dial with WithTLS is always a client, and
// ListenTLS always a server.
func WithServerSide() Option {
	return scoped("WithServerSide", kStartTLS, func(c *config) { c.tls.server = true })
}

// WithHandshakeTimeout bounds each TLS handshake: DialTLS's, StartTLS's
// and every connection's on a ListenTLS server. A handshake that takes
// longer fails with an error matching ErrHandshakeTimeout. d must be
// positive; the default is DefaultHandshakeTimeout. The ctx given to
// DialTLS or StartTLS bounds the handshake too. It applies to DialTLS,
// ListenTLS and StartTLS (and to Dial and Listen given WithTLS).
func WithHandshakeTimeout(d time.Duration) Option {
	return scoped("WithHandshakeTimeout", tlsSides, func(c *config) { c.tls.handshake = c.positive("TLS handshake timeout", d) })
}

// WithHelloTimeout bounds how long a ListenTLS server waits for a new
// connection's first bytes (the start of its ClientHello), measured from
// the moment it is accepted; the handshake timeout, when shorter, bounds
// it too. A connection that stays silent is closed and reported with
// ErrHelloTimeout. Until its first byte a connection holds none of the
// server's handshake slots, so silent peers cannot starve the others; on
// Linux the kernel itself holds a silent TCP connection for about d
// before the server even sees it. d must be positive; the default is
// DefaultHelloTimeout. It applies to ListenTLS (and Listen given WithTLS)
// only.
func WithHelloTimeout(d time.Duration) Option {
	return scoped("WithHelloTimeout", kListenTLS, func(c *config) { c.tls.hello = c.positive("TLS hello timeout", d) })
}

// WithShutdownTimeout bounds how long Close waits for the peer's
// close_notify after sending its own; when it passes, the connection is
// closed anyway and Lost carries an error matching ErrShutdownTimeout.
// Close reads the answer even when nobody claimed the events, so the
// transport ends (and Server.Shutdown sees it end) as soon as the peer
// answers. d must be positive; the default is DefaultShutdownTimeout. It
// applies where WithHandshakeTimeout does.
func WithShutdownTimeout(d time.Duration) Option {
	return scoped("WithShutdownTimeout", tlsSides, func(c *config) { c.tls.shutdown = c.positive("TLS shutdown timeout", d) })
}

// WithHandshakeFailures has a ListenTLS server call fn, on the
// handshake's goroutine (or the accepting one), for every connection
// whose handshake failed, with the peer's address and the error, so that
// it can be logged. Such a connection is closed and never accepted; the
// server goes on. The error is crypto/tls's, ErrHandshakeTimeout,
// ErrHelloTimeout or ErrHelloDisplaced (see ListenTLS), or a
// *PanicError when a config callback panicked. Connections cut short by
// Close or Shutdown are not reported. fn must not block for long; a
// panic in fn is recovered and dropped. It applies to ListenTLS (and
// Listen given WithTLS) only.
func WithHandshakeFailures(fn func(remote net.Addr, err error)) Option {
	return scoped("WithHandshakeFailures", kListenTLS, func(c *config) { c.tls.onFailure = fn })
}

// positive returns d, recording an error unless it is positive.
func (c *config) positive(what string, d time.Duration) time.Duration {
	if d <= 0 {
		c.errs = append(c.errs, fmt.Errorf("transport: %s %v must be positive", what, d))
	}
	return d
}

// defaults fills in the timeouts that were not given.
func (o *tlsOptions) defaults() {
	if o.handshake == 0 {
		o.handshake = DefaultHandshakeTimeout
	}
	if o.hello == 0 {
		o.hello = DefaultHelloTimeout
	}
	if o.shutdown == 0 {
		o.shutdown = DefaultShutdownTimeout
	}
}
