package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// FromConn adopts nc, an established stream connection, and returns it as
// a Transport (asyncio's create_connection(sock=) and
// connect_accepted_socket): a connection handed over by systemd socket
// activation, say, or accepted by another library. nc must be a
// *net.TCPConn or a stream *net.UnixConn, and open; for anything else (a
// net.Pipe, a *tls.Conn, a UDP or unixgram conn, a closed conn) FromConn
// returns an error wrapping ErrNotAdoptable (ER1).
//
// On success the transport owns nc: closing the transport closes nc, and
// the caller must no longer use nc. On any error nc is left open and
// still the caller's.
//
// The options are Dial's, less those that act before a socket is bound or
// connected (WithLocalAddr, WithReusePort, WithReuseAddr, WithBroadcast,
// WithReceiveBuffer, WithSendBuffer) and WithTLS: given any of them,
// FromConn returns an error wrapping errors.ErrUnsupported. For TLS over
// an adopted connection, call StartTLS on the transport (with
// WithServerSide for an accepted one). WithNoDelay and WithKeepAlive are
// set on an adopted TCP connection as on a dialed one.
//
// The transport does not read until its events are claimed. FromConn may
// be called from any goroutine.
func FromConn(nc net.Conn, opts ...Option) (Transport, error) {
	cfg, err := resolve(opts, kFromConn)
	if err != nil {
		return nil, err
	}
	if err := checkAdoptOptions("FromConn", cfg, false); err != nil {
		return nil, err
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	case *tls.Conn:
		return nil, fmt.Errorf("%w: %T: adopt the plain connection under it, then StartTLS", ErrNotAdoptable, nc)
	default:
		return nil, fmt.Errorf("%w: %T (want *net.TCPConn or a stream *net.UnixConn)", ErrNotAdoptable, nc)
	}
	if err := checkAdoptable(nc.(syscall.Conn), sockStream); err != nil {
		return nil, err
	}
	return adoptConn(nc, cfg)
}

// FromListener adopts ln, a listening stream socket, and serves it as
// Listen's Server does (asyncio's create_server(sock=)): a listener handed
// over by systemd socket activation, say, or made by another library. ln
// must be a *net.TCPListener or a stream *net.UnixListener, and open; for
// anything else FromListener returns an error wrapping ErrNotAdoptable
// (ER1).
//
// On success the Server owns ln: Close and Shutdown close it (a
// *net.UnixListener then removes its socket file as its Close does), and
// the caller must no longer use ln. On any error ln is left open and still
// the caller's.
//
// The options are Listen's, WithTLS included (the server then serves TLS
// as ListenTLS's does), less those that act before a socket is bound
// (WithReusePort, WithReuseAddr, WithBroadcast, WithReceiveBuffer,
// WithSendBuffer, WithLocalAddr): given any of them, FromListener returns
// an error wrapping errors.ErrUnsupported.
//
// FromListener may be called from any goroutine.
func FromListener(ln net.Listener, opts ...Option) (*Server, error) {
	cfg, err := resolve(opts, kFromListener)
	if err != nil {
		return nil, err
	}
	if err := checkAdoptOptions("FromListener", cfg, true); err != nil {
		return nil, err
	}
	switch ln.(type) {
	case *net.TCPListener, *net.UnixListener:
	default:
		return nil, fmt.Errorf("%w: %T (want *net.TCPListener or a stream *net.UnixListener)", ErrNotAdoptable, ln)
	}
	if err := checkAdoptable(ln.(syscall.Conn), sockStream); err != nil {
		return nil, err
	}
	return newServer(ln, cfg), nil
}

// checkAdoptable wraps, in ErrNotAdoptable, why s is closed or not of
// socket type want.
func checkAdoptable(s syscall.Conn, want int) error {
	if err := checkSocketType(s, want); err != nil {
		return fmt.Errorf("%w: %T: %w", ErrNotAdoptable, s, err)
	}
	return nil
}

// checkAdoptOptions refuses the options an adopted socket cannot honour:
// those set before binding, and WithTLS unless tlsOK.
func checkAdoptOptions(fn string, cfg resolved, tlsOK bool) error {
	switch {
	case cfg.localAddr != "":
		return fmt.Errorf("%w: WithLocalAddr does not apply to %s: %w on a bound socket", ErrInvalidOption, fn, errors.ErrUnsupported)
	case socketControl(cfg) != nil:
		return fmt.Errorf("%w: socket options set before binding do not apply to %s: %w on a bound socket (set them before adopting it)", ErrInvalidOption, fn, errors.ErrUnsupported)
	case !tlsOK && cfg.tls.config != nil:
		return fmt.Errorf("%w: WithTLS does not apply to %s: %w (adopt, then StartTLS)", ErrInvalidOption, fn, errors.ErrUnsupported)
	}
	return nil
}
