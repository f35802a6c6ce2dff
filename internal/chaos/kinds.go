package chaos

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync/atomic"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/certs"
	"github.com/rxnet/rxnet/transport"
)

// Kind is a kind of connection the suite runs over.
type Kind struct {
	Name     string
	Network  string
	TLS      bool // TLS 1.3 from the first byte
	StartTLS bool // plain, upgraded to TLS 1.3 mid-stream by StartTLS
}

// Kinds are the kinds of connection, in the order seeds map to them.
var Kinds = []Kind{
	{Name: "tcp", Network: "tcp"},
	{Name: "unix", Network: "unix"},
	{Name: "tls13", Network: "tcp", TLS: true},
	{Name: "starttls13", Network: "tcp", StartTLS: true},
}

// KindOf returns the kind a seed runs over: seeds cycle through Kinds.
func KindOf(seed uint64) Kind { return Kinds[seed%uint64(len(Kinds))] }

// Env is what the iterations of a run share: TLS configurations from a
// throwaway CA, and a short directory for Unix sockets.
type Env struct {
	ServerTLS, ClientTLS *tls.Config
	dir                  string
	seq                  atomic.Int64
}

// NewEnv makes an Env whose Unix sockets go in dir (kept short: sun_path
// holds 108 bytes).
func NewEnv(dir string) (*Env, error) {
	ca, err := certs.NewCA()
	if err != nil {
		return nil, err
	}
	server, client, err := ca.Localhost()
	if err != nil {
		return nil, err
	}
	server.MinVersion, client.MinVersion = tls.VersionTLS13, tls.VersionTLS13
	client.ServerName = "localhost" // StartTLS knows no host name
	return &Env{ServerTLS: server, ClientTLS: client, dir: dir}, nil
}

func (e *Env) socketPath() string {
	return filepath.Join(e.dir, fmt.Sprintf("%d.sock", e.seq.Add(1)))
}

// peerConn is the peer's end once connected.
type peerConn struct {
	raw, conn net.Conn
	err       error
}

// open connects this side and the peer and starts the chain's first
// consumer. It reports false, with no error, when Connect's context was
// cancelled before it connected: nothing is open then.
func (it *iteration) open() (bool, error) {
	var peerc peerConn
	var err error
	if it.plan.dial {
		peerc, err = it.openDialing()
	} else {
		peerc, err = it.openAccepted()
	}
	if err != nil || it.tr == nil {
		if peerc.raw != nil {
			peerc.raw.Close()
		}
		return false, err
	}
	it.peer = newPeer(it.log, it.ctx, it.plan.peer, peerc.raw, peerc.conn, it.peerTLS())
	it.peer.start()
	if it.plan.first != RoleProtocol {
		it.claimTransport(it.plan.first)
	}
	return true, nil
}

// peerTLS returns the peer's TLS configuration for an upgrade.
func (it *iteration) peerTLS() *tls.Config {
	if it.plan.peer.tlsServer {
		return it.env.ServerTLS
	}
	return it.env.ClientTLS
}

// openDialing makes this side dial the peer's listener: with Connect
// (whose context may be cancelled at once) for a protocol, with Dial or
// DialTLS for a channel or an Observable.
func (it *iteration) openDialing() (peerConn, error) {
	ln, err := net.Listen(it.kind.Network, it.address())
	if err != nil {
		return peerConn{}, err
	}
	accepted := make(chan peerConn, 1)
	go func() { accepted <- it.acceptPeer(ln) }()
	opts := it.plan.opts
	if it.kind.TLS {
		opts = append(opts, transport.WithTLS(it.env.ClientTLS))
	}
	addr := ln.Addr().String()
	if it.plan.first == RoleProtocol {
		err = it.connect(addr, opts)
	} else {
		it.tr, err = transport.Dial(it.ctx, it.kind.Network, addr, opts...)
	}
	if it.tr == nil {
		ln.Close() // the peer may wait in Accept
	}
	var pc peerConn
	select {
	case pc = <-accepted:
	case <-it.ctx.Done():
		return peerConn{}, errors.New("stuck: the peer's accept")
	}
	ln.Close()
	switch {
	case err != nil:
		return pc, err
	case it.tr == nil: // Connect's cancellation won: the peer's accept failed
		return pc, nil
	}
	return pc, pc.err
}

// connect runs adapters.Connect, racing its context's cancellation when
// the plan says so; a cancellation that wins leaves nothing open and the
// protocol untouched.
func (it *iteration) connect(addr string, opts []transport.Option) error {
	p0 := it.plan.newP0(it)
	it.setOwner(link{c: p0.c, proto: p0})
	ctx, cancel := context.WithCancel(it.ctx)
	defer cancel()
	if it.plan.cancelConnect {
		go cancel()
	}
	tr, _, err := adapters.Connect(ctx, it.kind.Network, addr, p0.driven, opts...)
	if err != nil {
		if it.plan.cancelConnect && ctx.Err() != nil {
			it.cancelled = true
			it.log.Note(p0.c.Name, "Connect cancelled")
			if n := it.log.Count(p0.c); n != 0 {
				it.log.Violationf("Connect failed (%v), yet %s got %d callbacks", err, p0.c.Name, n)
			}
			return nil
		}
		return fmt.Errorf("adapters.Connect: %w", err)
	}
	it.tr = tr
	return nil
}

// acceptPeer accepts the peer's end of a dialed connection, with the TLS
// server handshake for a TLS kind.
func (it *iteration) acceptPeer(ln net.Listener) peerConn {
	raw, err := ln.Accept()
	if err != nil {
		return peerConn{err: err}
	}
	if !it.kind.TLS {
		return peerConn{raw: raw, conn: raw}
	}
	if d, ok := it.ctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	tc := tls.Server(raw, it.env.ServerTLS)
	if err := tc.HandshakeContext(it.ctx); err != nil {
		return peerConn{raw: raw, err: err}
	}
	return peerConn{raw: raw, conn: tc}
}

// openAccepted makes this side a transport accepted by a Server (Listen
// or ListenTLS) that the peer dials; a protocol is attached with Adapt.
func (it *iteration) openAccepted() (peerConn, error) {
	opts := it.plan.opts
	if it.kind.TLS {
		opts = append(opts, transport.WithTLS(it.env.ServerTLS))
	}
	srv, err := transport.Listen(it.ctx, it.kind.Network, it.address(), opts...)
	if err != nil {
		return peerConn{}, err
	}
	it.srv = srv
	dialed := make(chan peerConn, 1)
	go func() {
		raw, conn, err := it.dialPeer(srv.Addr())
		dialed <- peerConn{raw: raw, conn: conn, err: err}
	}()
	tr, err := srv.Accept(it.ctx)
	pc := <-dialed // the dial ends by the iteration's deadline at the latest
	if err != nil {
		return pc, fmt.Errorf("transport.Server.Accept: %w", err)
	}
	it.tr = tr
	if pc.err != nil {
		return pc, pc.err
	}
	if it.plan.first == RoleProtocol {
		p0 := it.plan.newP0(it)
		it.setOwner(link{c: p0.c, proto: p0})
		if err := adapters.Adapt(tr, p0.driven()); err != nil {
			return pc, fmt.Errorf("adapters.Adapt: %w", err)
		}
	}
	return pc, nil
}

// claimTransport starts a channel or Observable consumer of the
// transport's own events.
func (it *iteration) claimTransport(role Role) {
	if role == RoleChannel {
		it.claimEvents(nil, "T.events", it.plan.closeAtEOF)
	} else {
		it.claimRx(nil, "T.rx", it.plan.closeAtEOF)
	}
}

// address returns where the listening end listens.
func (it *iteration) address() string {
	if it.kind.Network == "unix" {
		return it.env.socketPath()
	}
	return "127.0.0.1:0"
}

// dialPeer connects the peer to addr, TLS from the start if the kind says.
func (it *iteration) dialPeer(addr net.Addr) (raw, conn net.Conn, err error) {
	var d net.Dialer
	raw, err = d.DialContext(it.ctx, addr.Network(), addr.String())
	if err != nil || !it.kind.TLS {
		return raw, raw, err
	}
	tc := tls.Client(raw, it.env.ClientTLS)
	if d, ok := it.ctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	if err := tc.HandshakeContext(it.ctx); err != nil {
		raw.Close()
		return nil, nil, err
	}
	return raw, tc, nil
}
