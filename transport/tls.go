package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// errHalfCloseTLS12 is what WriteEOF returns under TLS 1.2.
var errHalfCloseTLS12 = fmt.Errorf("transport: WriteEOF needs TLS 1.3 (close_notify half-close): %w", errors.ErrUnsupported)

// DialTLS connects to addr like Dial and runs a TLS client handshake with
// config before returning (asyncio's create_connection with ssl). The
// certificate is verified as crypto/tls verifies it: when config has no
// ServerName and does not skip verification, the host of addr is used.
// ctx bounds connecting and the handshake; WithHandshakeTimeout bounds
// the handshake too. A failed handshake is DialTLS's error: no transport
// exists, so no consumer sees anything. A panic in one of config's
// callbacks (VerifyPeerCertificate, VerifyConnection,
// GetClientCertificate, ...) is recovered: DialTLS returns it as a
// *PanicError. So is one in a callback that a later message runs on the
// read goroutine (a ClientSessionCache's Put, given the server's session
// ticket): the transport is lost with it.
//
// The transport has every stream-transport method, with TLS's own ends
// (see the package doc's TLS section: EOF is close_notify, a bare FIN is
// ErrTruncated, Close waits for the peer's close_notify, WriteEOF needs
// TLS 1.3). ConnectionState reports the handshake's state, and ExtraInfo
// adds InfoPeercert (the peer's leaf *x509.Certificate, when it sent
// one), InfoCipher (a CipherInfo), InfoCompression (always nil: TLS
// compression is not supported), InfoSSLContext (config) and
// InfoSSLObject (the tls.ConnectionState).
func DialTLS(ctx context.Context, network, addr string, config *tls.Config, opts ...Option) (Transport, error) {
	if config == nil {
		return nil, ErrNilTLSConfig
	}
	return dial(ctx, kDialTLS, network, addr, config, opts)
}

// ListenTLS listens like Listen; every accepted connection runs a TLS
// server handshake with config before Accept (or Transports, or
// Observable) hands it out. The server holds few connections that are
// not handed out yet, and the kernel's backlog holds the rest:
//
//   - a connection must send its first byte within the hello timeout
//     (WithHelloTimeout). Until then it holds no handshake slot: it
//     waits among at most 128 connections not yet handshaking (on Linux
//     the kernel holds a silent TCP connection first), and a newcomer
//     closes the one silent longest, so silent peers cannot starve the
//     others;
//   - then it takes one of 128 handshake slots; the handshake timeout
//     (WithHandshakeTimeout) bounds the handshake, a peer trickling its
//     bytes included;
//   - it keeps the slot until Accept takes it, so a consumer that stops
//     accepting stops the handshakes: at most 128 handshaken connections
//     wait.
//
// A connection whose handshake fails is closed and never handed out: the
// server goes on, counts it (ServerStats.HandshakeFailures), and
// WithHandshakeFailures lets the caller log it. A panic in one of
// config's callbacks (GetCertificate, GetConfigForClient,
// VerifyPeerCertificate, VerifyConnection, ...), which a peer may
// trigger through its ClientHello, fails that handshake only, as a
// *PanicError.
func ListenTLS(ctx context.Context, network, addr string, config *tls.Config, opts ...Option) (*Server, error) {
	if config == nil {
		return nil, ErrNilTLSConfig
	}
	return listen(ctx, kListenTLS, network, addr, config, opts)
}

// StartTLS upgrades t, an open TCP or Unix stream transport, to TLS
// (asyncio's loop.start_tls): it runs the client side of the handshake,
// or the server side with WithServerSide. It returns only an error:
// unlike asyncio's start_tls, which hands back a new transport and leaves
// the old one unusable, t itself is upgraded and every holder of it
// (a Protocol, a Writer, another goroutine) goes on using it, now
// encrypting. Events go on on the same stream (no second Made) and no
// byte is lost or reordered across the upgrade:
//
//   - what t read but its consumer has not taken yet (Data events still in
//     the channel, a chunk not yet delivered) is handshake input, not
//     plaintext: the consumer decided to upgrade after what it took;
//   - what was written before StartTLS is sent, in plain, before the
//     handshake; what is written while it runs is encrypted after it.
//
// Unlike DialTLS, StartTLS knows no host name: a client config must
// name the server (ServerName, as asyncio's server_hostname) or skip
// verification.
//
// StartTLS may be called from any goroutine, and from inside a Protocol
// callback that the read goroutine runs (ConnectionMade, DataReceived):
// there it runs the handshake itself. From any other goroutine it waits
// for the read goroutine to reach an event boundary, so called from a
// callback running elsewhere (a PauseWriting caused by another
// goroutine's Write), which holds the adapter, it waits until ctx ends.
// With an Observable consumer, the items already emitted stay the
// pipeline's. ctx and
// WithHandshakeTimeout bound the handshake. If it fails, times out or
// is cancelled, StartTLS returns the error and t is closed, with that
// error as Lost's; a panic in one of config's callbacks is recovered and
// is that error, as a *PanicError. A transport aborted or lost
// before the handshake ran makes it return at once, with an error
// matching net.ErrClosed. A nil config, a transport that is not
// a plain stream transport, a closing one, one whose peer sent EOF, or one after
// WriteEOF is an error and t is left as it was; so is an option other
// than WithServerSide, WithHandshakeTimeout and WithShutdownTimeout (an
// error matching ErrInvalidOption).
func StartTLS(ctx context.Context, t Transport, config *tls.Config, opts ...Option) error {
	if config == nil {
		return ErrNilTLSConfig
	}
	c, ok := t.(*conn)
	if !ok || c.pipe != notPipe {
		return fmt.Errorf("%w, not %T", ErrNotUpgradable, t)
	}
	cfg, err := resolve(opts, kStartTLS)
	if err != nil {
		return err
	}
	cfg.tls.config = config
	return c.startTLS(ctx, cfg.tls)
}

// CipherInfo is ExtraInfo's InfoCipher on a TLS transport (asyncio's
// (name, protocol, bits) tuple).
type CipherInfo struct {
	Name    string // the cipher suite, as tls.CipherSuiteName names it
	Version string // the TLS version, as tls.VersionName names it
	ID      uint16 // the cipher suite's id
}

// tlsInfo returns a TLS transport's own ExtraInfo keys; handled is false
// for the keys of the underlying socket.
func tlsInfo(st *tls.ConnectionState, config *tls.Config, name string) (v any, ok, handled bool) {
	switch name {
	case InfoPeercert:
		var leaf *x509.Certificate
		if len(st.PeerCertificates) > 0 {
			leaf = st.PeerCertificates[0]
		}
		return leaf, leaf != nil, true
	case InfoCipher:
		return CipherInfo{
			Name:    tls.CipherSuiteName(st.CipherSuite),
			Version: tls.VersionName(st.Version),
			ID:      st.CipherSuite,
		}, true, true
	case InfoCompression:
		return nil, true, true
	case InfoSSLContext:
		return config, true, true
	case InfoSSLObject:
		return *st, true, true
	}
	return nil, false, false
}

// clientConfig returns the config a client handshake to addr uses: config
// itself, or a clone naming addr's host when config names no server.
func clientConfig(config *tls.Config, addr string) *tls.Config {
	if config.ServerName != "" || config.InsecureSkipVerify {
		return config
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c := config.Clone()
	c.ServerName = host
	return c
}
