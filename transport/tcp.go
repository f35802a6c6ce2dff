package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// streamNetworks are the networks Dial and Listen support.
var streamNetworks = map[string]bool{"tcp": true, "tcp4": true, "tcp6": true, "unix": true}

func checkStreamNetwork(network string) error {
	if !streamNetworks[network] {
		return fmt.Errorf("%w %q (want tcp, tcp4, tcp6 or unix)", ErrUnknownNetwork, network)
	}
	return nil
}

// Dial connects to addr on the named network ("tcp", "tcp4", "tcp6" or
// "unix") and returns the connection as a Transport (asyncio's
// create_connection and create_unix_connection). ctx bounds connecting
// (and with WithTLS the handshake: see DialTLS) only; once Dial has
// returned, cancelling ctx changes nothing.
//
// The transport does not read until its events are claimed (Events,
// Observable, or the adapters package), so no event is missed.
func Dial(ctx context.Context, network, addr string, opts ...Option) (Transport, error) {
	return dial(ctx, kDial, network, addr, nil, opts)
}

// dial is Dial, or DialTLS (k) with tc.
func dial(ctx context.Context, k kinds, network, addr string, tc *tls.Config, opts []Option) (Transport, error) {
	cfg, err := resolve(opts, k)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		cfg.tls.config = tc
	}
	if err := checkStreamNetwork(network); err != nil {
		return nil, err
	}
	d, err := dialer(cfg, network)
	if err != nil {
		return nil, err
	}
	d.KeepAlive = goKeepAlive(cfg)
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c, err := wrapConn(nc, cfg)
	if err != nil {
		return nil, err
	}
	if o := cfg.tls; o.config != nil {
		if err := c.handshake(ctx, o, clientConfig(o.config, addr), nil); err != nil {
			c.Abort()
			return nil, err
		}
		c.tlsOn.Store(true)
	}
	return c, nil
}

// wrapConn applies the socket options and makes the transport; on error it
// closes nc.
func wrapConn(nc net.Conn, cfg resolved) (*conn, error) {
	c, err := adoptConn(nc, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// adoptConn is wrapConn leaving nc open on error.
func adoptConn(nc net.Conn, cfg resolved) (*conn, error) {
	sc, ok := nc.(streamConn)
	if !ok {
		return nil, fmt.Errorf("transport: %T is not a stream socket", nc)
	}
	if err := applyConnOptions(nc, cfg); err != nil {
		return nil, err
	}
	return newConn(sc, cfg)
}

// goKeepAlive is the keep-alive the standard library sets itself on a new
// TCP connection: none when WithKeepAlive sets it (applyConnOptions).
func goKeepAlive(cfg resolved) (d time.Duration) {
	if cfg.keepAlive != 0 {
		return -1
	}
	return 0
}

// applyConnOptions sets WithNoDelay and WithKeepAlive on a dialed or
// accepted TCP connection, through net.TCPConn so that they work on every
// platform; Unix sockets ignore them. Unlike the standard library's own
// keep-alive setting, a failure is returned.
func applyConnOptions(nc net.Conn, cfg resolved) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	if cfg.noDelay != nil {
		if err := tc.SetNoDelay(*cfg.noDelay); err != nil {
			return err
		}
	}
	switch {
	case cfg.keepAlive < 0:
		return tc.SetKeepAlive(false)
	case cfg.keepAlive > 0:
		// Count -1 leaves the system's probe count alone.
		return tc.SetKeepAliveConfig(net.KeepAliveConfig{
			Enable: true, Idle: cfg.keepAlive, Interval: cfg.keepAlive, Count: -1,
		})
	}
	return nil
}

// dialer returns a net.Dialer with the socket options and WithLocalAddr.
func dialer(cfg resolved, network string) (*net.Dialer, error) {
	d := &net.Dialer{Control: socketControl(cfg)}
	if cfg.localAddr == "" {
		return d, nil
	}
	var err error
	switch network {
	case "tcp", "tcp4", "tcp6":
		d.LocalAddr, err = net.ResolveTCPAddr(network, cfg.localAddr)
	case "udp", "udp4", "udp6":
		d.LocalAddr, err = net.ResolveUDPAddr(network, cfg.localAddr)
	default:
		d.LocalAddr, err = net.ResolveUnixAddr(network, cfg.localAddr)
	}
	if err != nil {
		return nil, fmt.Errorf("transport: local address: %w", err)
	}
	return d, nil
}
