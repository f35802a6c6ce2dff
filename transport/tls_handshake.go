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
	err := tc.HandshakeContext(hctx)
	c.noteFlow()
	if err != nil {
		if ctx.Err() == nil && hctx.Err() != nil {
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

// maxHandshakes bounds the TLS handshakes a server runs at once; the
// kernel's backlog holds the connections beyond.
const maxHandshakes = 128

// acceptTLS runs c's server handshake on its own goroutine, then hands c
// out; a failure closes c only and is reported. It reports false when
// the server stops accepting while waiting for a handshake slot.
func (s *Server) acceptTLS(c *conn) bool {
	select {
	case s.hslots <- struct{}{}:
	case <-s.stop:
		c.Abort()
		return false
	}
	s.handshakes.Add(1)
	go func() {
		defer s.handshakes.Done()
		o := s.cfg.tls
		o.server = true
		err := c.handshake(s.hctx, o, o.config, nil)
		<-s.hslots
		if err != nil {
			c.Abort()
			s.hfailed.Add(1)
			if o.onFailure != nil {
				o.onFailure(c.info.peer, err)
			}
			return
		}
		c.tlsOn.Store(true)
		s.hand(c)
	}()
	return true
}
