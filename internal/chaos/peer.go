package chaos

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/rxnet/rxnet/internal/gate"
)

// Ack is what this side writes, in plain, once it has read the agreed
// plain prefix of a StartTLS kind: the peer starts its handshake after
// reading it, so the handshake never overlaps plain data.
var Ack = []byte("STARTTLS\n")

// Peer endings (peerPlan.end).
const (
	endFIN      = "fin"      // CloseWrite (close_notify over TLS)
	endReset    = "reset"    // SO_LINGER 0, then close (AF_UNIX: close)
	endTruncate = "truncate" // TLS: a bare FIN, without close_notify
	endNone     = "none"     // nothing: this side ends the connection
	endFailed   = "failed"   // a write failed: this side went away
)

// peerPlan is what the peer does, drawn from the seed.
type peerPlan struct {
	// segments are the chunk sizes the peer writes: the first at once,
	// each later one when the driver releases its gate; the end waits
	// for one more gate. A StartTLS kind cuts a chunk at upgradeAt.
	segments  [][]int
	end       string
	tls       bool  // the connection speaks TLS from the first byte
	upgradeAt int64 // > 0: plain until then, then TLS
	tlsServer bool  // the peer's TLS role after upgradeAt
}

// peer is the other end of the connection: a plain net.Conn (or a
// *tls.Conn over one) driven by two goroutines. The writer sends the
// counter stream in the plan's chunks and ends as planned; the reader
// reads this side's stream and checks it, and can be stopped so that
// this side's writes back up.
type peer struct {
	log    *Log
	ctx    context.Context
	plan   peerPlan
	raw    net.Conn    // the socket
	conn   net.Conn    // raw, or a *tls.Conn over it when TLS from the start
	tlsCfg *tls.Config // for the upgrade

	gates    []chan struct{}
	released int        // gates released (the driver's)
	reading  *gate.Gate // open while the reader reads
	stop     chan struct{}
	stopOnce sync.Once

	tlsDone chan struct{} // upgrade: closed once the handshake ended
	tlsConn *tls.Conn     // set before tlsDone closes, on success
	answer  chan struct{} // TLS: closed when the reader got this side's close_notify

	readDone  chan struct{}
	writeDone chan struct{}
	ourRead   int64 // this side's bytes read; the reader's until readDone
	readErr   error // what ended the reads; likewise
}

func newPeer(log *Log, ctx context.Context, plan peerPlan, raw, conn net.Conn, tlsCfg *tls.Config) *peer {
	p := &peer{
		log: log, ctx: ctx, plan: plan, raw: raw, conn: conn, tlsCfg: tlsCfg,
		reading: gate.New(), stop: make(chan struct{}),
		tlsDone: make(chan struct{}), answer: make(chan struct{}),
		readDone: make(chan struct{}), writeDone: make(chan struct{}),
	}
	for range plan.segments {
		p.gates = append(p.gates, make(chan struct{}))
	}
	if d, ok := ctx.Deadline(); ok {
		raw.SetDeadline(d)
	}
	return p
}

// start starts the reader and the writer.
func (p *peer) start() {
	go p.read()
	go p.write()
}

// releaseGate lets the writer go on to its next segment (or its end); it
// reports false when every gate is released already.
func (p *peer) releaseGate() bool {
	if p.released == len(p.gates) {
		return false
	}
	p.log.PeerReleased(p.gates[p.released]) // busy from now on: a wait for quiet must not end before the writer wakes
	p.released++
	return true
}

// releaseAll releases every gate left.
func (p *peer) releaseAll() {
	for p.releaseGate() {
	}
}

// resetNow resets the connection at once (AF_UNIX has no reset: it
// closes, and the transport sees EOF or ECONNRESET).
func (p *peer) resetNow() {
	p.log.PeerEnded(endReset, true)
	if tc, ok := p.raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	p.raw.Close()
}

// finish ends the peer once this side has ended: the writer stops
// waiting, the reader reads to the end; then the socket is closed.
func (p *peer) finish() error {
	p.stopOnce.Do(func() { close(p.stop) })
	p.reading.End(errors.New("finished"))
	for _, ch := range []chan struct{}{p.readDone, p.writeDone} {
		select {
		case <-ch:
		case <-p.ctx.Done():
			p.raw.Close()
			return fmt.Errorf("stuck: the peer's reader or writer did not end after this side's Lost (read %d bytes, err %v): was the descriptor left open? (LC5)", p.ourRead, p.readErr)
		}
	}
	p.raw.Close()
	return nil
}

// write is the writer goroutine.
func (p *peer) write() {
	defer close(p.writeDone)
	w := p.conn
	var off int64
	for i, seg := range p.plan.segments {
		if i > 0 && !p.waitGate(i-1) {
			p.answerIfAsked(w)
			return
		}
		for _, n := range seg {
			if p.plan.upgradeAt > 0 && off == p.plan.upgradeAt {
				if w = p.waitUpgrade(); w == nil {
					return
				}
			}
			if p.answerIfAsked(w) {
				return
			}
			k, err := w.Write(Pattern(off, n))
			off += int64(k)
			p.log.PeerWrote(k)
			if err != nil {
				p.log.PeerEnded(endFailed, false)
				return
			}
		}
	}
	if !p.waitGate(len(p.gates) - 1) {
		p.answerIfAsked(w)
		return
	}
	p.end(w)
}

// waitGate waits for gate i; it reports false when the writer must stop
// instead (this side closed, or the run ends).
func (p *peer) waitGate(i int) bool {
	p.log.PeerWaits(p.gates[i])
	defer p.log.PeerIdle(false)
	select {
	case <-p.gates[i]:
		return true
	case <-p.answer:
	case <-p.stop:
	case <-p.ctx.Done():
	}
	return false
}

// waitUpgrade waits for the peer's handshake and returns the TLS
// connection, nil when it failed.
func (p *peer) waitUpgrade() net.Conn {
	p.log.PeerIdle(true)
	defer p.log.PeerIdle(false)
	select {
	case <-p.tlsDone:
	case <-p.ctx.Done():
		return nil
	}
	if p.tlsConn == nil {
		p.log.PeerEnded(endFailed, false)
		return nil
	}
	return p.tlsConn
}

// answerIfAsked answers this side's close_notify with the peer's own and
// reports whether it did.
func (p *peer) answerIfAsked(w net.Conn) bool {
	select {
	case <-p.answer:
		p.closeWrite(w)
		return true
	default:
		return false
	}
}

// end ends the writes as planned; a peer that sends nothing more still
// answers this side's close_notify.
func (p *peer) end(w net.Conn) {
	switch p.plan.end {
	case endFIN:
		p.closeWrite(w)
	case endReset:
		p.resetNow()
	case endTruncate:
		p.log.PeerEnded(endTruncate, true)
		if err := p.raw.(*net.TCPConn).CloseWrite(); err != nil {
			p.log.PeerEnded(endFailed, false)
		}
	case endNone:
		p.log.PeerIdle(true)
		select {
		case <-p.answer:
			p.closeWrite(w)
		case <-p.stop:
			p.log.PeerEnded(endNone, false)
		case <-p.ctx.Done():
		}
	}
}

// closeWrite sends FIN (close_notify over TLS).
func (p *peer) closeWrite(w net.Conn) {
	cw, ok := w.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		p.log.PeerEnded(endFailed, false)
		return
	}
	p.log.PeerEnded(endFIN, false)
}

// read is the reader goroutine.
func (p *peer) read() {
	defer close(p.readDone)
	c, isTLS := p.conn, p.plan.tls
	if p.plan.upgradeAt > 0 {
		tc := p.handshake()
		if tc == nil {
			return
		}
		c, isTLS = tc, true
	}
	buf := make([]byte, 32<<10)
	for {
		select {
		case <-p.reading.C():
		case <-p.ctx.Done():
			p.readErr = p.ctx.Err()
			return
		}
		n, err := c.Read(buf)
		if i := Mismatch(buf[:n], p.ourRead); i >= 0 {
			p.log.Violationf("the peer read %d bytes at offset %d of this side's stream that differ from byte %d on (writes reordered or lost)", n, p.ourRead, p.ourRead+int64(i))
		}
		p.ourRead += int64(n)
		if err != nil {
			p.readErr = err
			if isTLS && errors.Is(err, io.EOF) {
				close(p.answer)
			}
			return
		}
	}
}

// handshake reads Ack in plain, then runs the peer's side of the TLS
// handshake; it returns nil when either failed (this side went away).
func (p *peer) handshake() *tls.Conn {
	defer close(p.tlsDone)
	ack := make([]byte, len(Ack))
	if _, err := io.ReadFull(p.raw, ack); err != nil {
		p.readErr = err
		return nil
	}
	if !bytes.Equal(ack, Ack) {
		p.log.Violationf("the peer read %q where this side's StartTLS acknowledgement belongs", ack)
		return nil
	}
	tc := tls.Client(p.raw, p.tlsCfg)
	if p.plan.tlsServer {
		tc = tls.Server(p.raw, p.tlsCfg)
	}
	if err := tc.Handshake(); err != nil {
		p.readErr = err
		return nil
	}
	p.tlsConn = tc
	return tc
}
