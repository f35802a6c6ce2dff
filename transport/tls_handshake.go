package transport

import (
	"context"
	"crypto/tls"
)

// handshake runs a TLS handshake over c's socket with config (the
// client's may name the server: see clientConfig), prefix being what
// was read before. On success c speaks TLS; on failure the caller closes
// c. ctx and the handshake timeout bound it.
func (c *conn) handshake(ctx context.Context, o tlsOptions, config *tls.Config, prefix []byte) error {
	w := &wire{c: c, prefix: prefix}
	var tc *tls.Conn
	if o.server {
		tc = tls.Server(w, config)
	} else {
		tc = tls.Client(w, config)
	}
	hctx, cancel := context.WithTimeout(ctx, o.handshake)
	defer cancel()
	err := runHandshake(hctx, tc)
	c.noteFlow()
	if err != nil {
		if !isPanic(err) && ctx.Err() == nil && hctx.Err() != nil {
			return ErrHandshakeTimeout
		}
		return err
	}
	s := &secure{tc: tc, w: w, config: o.config, state: tc.ConnectionState(), shutdown: o.shutdown}
	c.mu.Lock()
	c.sec = s
	c.mu.Unlock()
	return nil
}

// runHandshake runs tc's handshake. A panic in one of the config's
// callbacks (GetCertificate, GetConfigForClient, VerifyPeerCertificate,
// VerifyConnection, GetClientCertificate, a session cache, a KeyLogWriter,
// ...), which crypto/tls calls on this goroutine, fails it with a
// *PanicError, as net/http contains a handler's panic to its connection:
// a peer's ClientHello must not crash the process.
func runHandshake(ctx context.Context, tc *tls.Conn) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	return tc.HandshakeContext(ctx)
}
