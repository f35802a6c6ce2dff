package transport

// StartServing starts accepting connections on a server listened
// WithStartServing(false) (asyncio's Server.start_serving); the
// connections that waited in the kernel's backlog are accepted first.
// It returns nil at once on a server that is serving already, and on any
// later call; ErrServerClosed once the server is closed or shutting down;
// the listener's error if accepting failed. The first Accept, Transports
// or Observable subscription (so adapters.Serve, asyncio's serve_forever)
// starts serving too: StartServing is for accepting before a consumer
// claims the transports, to start TLS handshakes, say.
//
// Any goroutine may call StartServing.
func (s *Server) StartServing() error {
	s.startServing()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return s.err
	case s.stopped:
		return ErrServerClosed
	}
	return nil
}

// IsServing reports whether the server is accepting connections
// (asyncio's Server.is_serving): true from Listen, or with
// WithStartServing(false) from StartServing or the first Accept,
// Transports or Observable subscription, until Close or Shutdown begins
// or the listener fails.
//
// Any goroutine may call IsServing.
func (s *Server) IsServing() bool {
	s.mu.Lock()
	started, stopped := s.started, s.stopped
	s.mu.Unlock()
	if !started || stopped {
		return false
	}
	select {
	case <-s.loopDone: // the listener failed
		return false
	default:
		return true
	}
}

// startServing starts the accept goroutine, once, unless the server has
// begun to stop: stopAccepting then closes what the goroutine would have.
func (s *Server) startServing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	go s.acceptLoop()
}
