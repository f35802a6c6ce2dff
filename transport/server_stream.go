package transport

import (
	"context"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
)

// Who takes a Server's accepted transports.
const (
	takeNone int32 = iota
	takeAccept
	takeChannel
	takeObservable
)

// claim makes who the consumer of the accepted transports; Accept calls
// and Transports calls may repeat.
func (s *Server) claim(who int32) bool {
	if s.consumer.CompareAndSwap(takeNone, who) {
		return true
	}
	return who != takeObservable && s.consumer.Load() == who
}

// Transports claims the server's accepted transports for a channel
// consumer and returns the channel, the same one on every call, like
// Events on a transport. Each transport does not read until its events
// are claimed. The channel is closed once the server stops accepting
// (Close, Shutdown, or a failed listener: see Accept for why). A receiver
// that stops taking transports leaves the next connections in the
// kernel's backlog. Once Accept or Observable has claimed them, it
// returns a closed channel. The first call starts serving a server
// listened WithStartServing(false).
func (s *Server) Transports() <-chan Transport {
	if !s.claim(takeChannel) {
		ch := make(chan Transport)
		close(ch)
		return ch
	}
	s.startServing()
	return s.accepted
}

// Observable returns the server's accepted transports as an rxgo
// Observable (each item's value is a Transport), whose first subscription
// claims them, so that a whole server can be an rx pipeline. Serve each
// transport's own Observable from a goroutine (or rxgo's FlatMap, which
// in v2.5.0 serves one transport at a time, to its end: see docs/rx.md).
// It completes when the server stops
// accepting. The subscriber's context (rxgo.WithContext) bounds the
// subscription: when it is cancelled the server is closed (its transports
// aborted). A second subscriber, or one after Accept or Transports, gets
// one error item, stream.ErrAlreadySubscribed. rxgo options are passed
// through. The first subscription starts serving a server listened
// WithStartServing(false).
func (s *Server) Observable(opts ...rxgo.Option) rxgo.Observable {
	return rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
		if !s.claim(takeObservable) {
			rxgo.Error(stream.ErrAlreadySubscribed).SendContext(ctx, next)
			return
		}
		s.startServing()
		for {
			select {
			case t, ok := <-s.accepted:
				if !ok {
					return
				}
				select {
				case next <- rxgo.Of(t):
				case <-ctx.Done():
					t.Abort()
					s.Close()
					return
				}
			case <-ctx.Done():
				s.Close()
				return
			}
		}
	}}, opts...)
}

// ServerStats is a snapshot of a Server's counters, from Stats.
type ServerStats struct {
	// Accepted counts the transports accepted (on a ListenTLS server,
	// those whose handshake succeeded); Open those still open.
	Accepted int64
	Open     int
	// HandshakeFailures counts the connections a ListenTLS server closed
	// because their TLS handshake failed (a panicking config callback
	// included), or because they sent nothing in time or were displaced
	// by newer ones (ErrHelloTimeout, ErrHelloDisplaced).
	HandshakeFailures int64
	// Transports sums the Stats of every transport the server accepted,
	// open or closed (PeakWriteBuffer is the largest).
	Transports Stats
}

// Stats returns a snapshot of the server's counters, for metrics.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	live := make([]*conn, 0, len(s.conns)+len(s.ending))
	for c := range s.conns {
		live = append(live, c)
	}
	open := len(live)
	for c := range s.ending {
		live = append(live, c)
	}
	sum, accepted := s.closed, s.total.Load()
	s.mu.Unlock()
	for _, c := range live {
		sum = sum.Add(c.Stats())
	}
	st := ServerStats{Accepted: accepted, Open: open, Transports: sum}
	if s.tls != nil {
		st.HandshakeFailures = s.tls.failed.Load()
	}
	return st
}
