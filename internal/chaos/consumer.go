package chaos

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/gate"
	"github.com/rxnet/rxnet/internal/goid"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// The consumers of the chain record every event in the iteration's Log,
// which checks it against the owner and the peer's stream. Each may take
// an action when the data reaches a point: detach (a protocol, armed by
// the driver), pause reading, StartTLS at the agreed offset, or Close at
// EOF.

// protocol is an adapters.Protocol in the chain.
type protocol struct {
	it         *iteration
	c          *Consumer
	tr         transport.Transport // guarded by mu until ConnectionMade
	keepOpen   bool                // EOFReceived's answer
	closeAtEOF bool
	detachMade bool // Detach inside ConnectionMade
	bufSize    int  // not 0: driven as a BufferedProtocol (driven)

	mu    sync.Mutex // guards tr, depth, gid
	depth int        // callbacks running (nested on one goroutine)
	gid   uint64

	// attacher is the goroutine in Detached.Attach(p), which delivers the
	// events drained from the stream: a callback running there is not on
	// the read goroutine, so it must not run StartTLS itself (StartTLS's
	// doc: it would wait for the read goroutine, which waits for it). It
	// leaves the upgrade to that goroutine, once Attach has returned.
	attacher     atomic.Uint64
	upgradeLater atomic.Bool
}

var _ adapters.Protocol = (*protocol)(nil)

// enter and exit bracket a callback, checking that no two run at once on
// two goroutines (CC2); PauseWriting inside a Write inside DataReceived
// nests on one goroutine.
func (p *protocol) enter() (id uint64) {
	id = goid.Get()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.depth > 0 && p.gid != id {
		p.it.log.Violationf("%s: two callbacks at once on two goroutines (CC2)", p.c.Name)
	}
	p.depth++
	p.gid = id
	return id
}

func (p *protocol) exit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.depth--
}

func (p *protocol) transport() transport.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tr
}

func (p *protocol) ConnectionMade(t transport.Transport) {
	p.enter()
	defer p.exit()
	p.mu.Lock()
	p.tr = t
	p.mu.Unlock()
	p.it.log.Made(p.c)
	if p.detachMade {
		p.detach(nil)
	}
}

func (p *protocol) DataReceived(b []byte) {
	id := p.enter()
	defer p.exit()
	a := p.it.log.takeArm(p.c)
	if a.detach && a.rest && len(b) >= 2 {
		k := max(1, min(len(b)-1, len(b)*a.split/1000))
		p.it.data(p.c, b[:k])
		p.detach(b[k:])
		p.it.armFired()
		return
	}
	upgrade := p.it.data(p.c, b)
	if a.pause {
		p.it.log.SetReadPaused(true)
		p.transport().PauseReading()
	}
	switch {
	case upgrade && p.attacher.Load() == id:
		p.upgradeLater.Store(true)
	case upgrade:
		p.it.upgrade()
	}
	if a.detach {
		p.detach(nil)
	}
	if a != (arm{}) {
		p.it.armFired()
	}
}

// detach hands the rest of the stream, starting with rest, to a Detached.
func (p *protocol) detach(rest []byte) {
	d, err := adapters.Detach(p.transport(), rest)
	if err != nil {
		p.it.log.Violationf("%s: Detach inside a callback: %v", p.c.Name, err)
		if len(rest) > 0 {
			p.it.data(p.c, rest)
		}
		return
	}
	how := "in a callback"
	if len(rest) > 0 {
		how = fmt.Sprintf("in a callback, with %d bytes of rest", len(rest))
	}
	p.it.adopt(d, how)
}

func (p *protocol) EOFReceived() bool {
	p.enter()
	defer p.exit()
	p.it.log.EOF(p.c)
	if p.closeAtEOF {
		p.it.localClose("Close at EOF")
	}
	return p.keepOpen
}

func (p *protocol) ConnectionLost(err error) {
	p.enter()
	defer p.exit()
	p.it.log.Lost(p.c, err)
}

func (p *protocol) PauseWriting() {
	p.enter()
	defer p.exit()
	p.it.log.Flow(p.c, true)
}

func (p *protocol) ResumeWriting() {
	p.enter()
	defer p.exit()
	p.it.log.Flow(p.c, false)
}

// reader is what a channel and an Observable consumer share: the events'
// checks, the stall gate and the end.
type reader struct {
	it         *iteration
	c          *Consumer
	closeAtEOF bool
	stall      *gate.Gate    // open while the consumer receives
	done       chan struct{} // closed when its goroutine ends
}

func newReader(it *iteration, c *Consumer, closeAtEOF bool) reader {
	return reader{it: it, c: c, closeAtEOF: closeAtEOF, stall: gate.New(), done: make(chan struct{})}
}

// handle records e; it reports false once e is Lost (or the claim was
// refused): the stream must then end.
func (r *reader) handle(e stream.Event) bool {
	log := r.it.log
	switch e.Kind {
	case stream.Made:
		log.Made(r.c)
	case stream.Data:
		defer e.Release() // recorded: the bytes are not kept (WithPooledData)
		switch {
		case !r.it.data(r.c, e.Data):
		case r.c.Role == RoleRx:
			// StartTLS takes back no item from an rx pipeline (its doc):
			// the peer's handshake must not be read as data meanwhile.
			r.it.upgradePaused()
		default:
			r.it.upgrade() // what the channel holds is handshake input
		}
	case stream.EOF:
		log.EOF(r.c)
		if r.closeAtEOF {
			r.it.localClose("Close at EOF")
		}
	case stream.PauseWriting, stream.ResumeWriting:
		log.Flow(r.c, e.Kind == stream.PauseWriting)
	case stream.Lost:
		if errors.Is(e.Err, stream.ErrAlreadySubscribed) {
			log.Refused(r.c, e.Err)
		} else {
			log.Lost(r.c, e.Err)
		}
		return false
	default:
		log.Violationf("%s: unexpected %v on a stream transport", r.c.Name, e.Kind)
	}
	return true
}

// channelConsumer ranges over an event channel: the transport's own, or a
// Detached's, which it can hand back to a protocol with Attach.
type channelConsumer struct {
	reader
	ch     <-chan stream.Event
	d      *adapters.Detached // nil for the transport's channel
	attach chan attachCall
}

// attachCall asks a channel consumer to stop and Attach p.
type attachCall struct {
	p     *protocol
	reply chan error
}

// run receives until Lost and the channel's close, or an attach call.
func (cc *channelConsumer) run() {
	defer close(cc.done)
	ctx := cc.it.ctx
	for {
		select {
		case <-cc.stall.C():
		case call := <-cc.attach:
			call.reply <- cc.handBack(call.p)
			return
		case <-ctx.Done():
			return
		}
		select {
		case e, ok := <-cc.ch:
			if !ok {
				cc.it.log.Done(cc.c)
				return
			}
			if !cc.handle(e) {
				cc.expectClosed()
				return
			}
		case call := <-cc.attach:
			call.reply <- cc.handBack(call.p)
			return
		case <-ctx.Done():
			return
		}
	}
}

// expectClosed checks that nothing follows Lost and the channel closes.
func (cc *channelConsumer) expectClosed() {
	select {
	case e, ok := <-cc.ch:
		if ok {
			cc.it.log.Violationf("%s: %v after Lost (LC2)", cc.c.Name, e)
			return
		}
		cc.it.log.Done(cc.c)
	case <-cc.it.ctx.Done():
		cc.it.log.Violationf("%s: the channel was not closed after Lost within the iteration's timeout (LC2)", cc.c.Name)
	}
}

// handBack gives the stream to p with Attach, from this goroutine, which
// stopped receiving.
func (cc *channelConsumer) handBack(p *protocol) error {
	cc.it.log.SetOwner(p.c)
	err := p.attachTo(cc.d)
	if err != nil {
		cc.it.log.Violationf("%s: Attach(%s) from the channel's consumer: %v", cc.c.Name, p.c.Name, err)
		cc.it.log.SetOwner(cc.c)
	}
	return err
}

// attachTo gives d's events to p with Attach, then runs the StartTLS
// that a callback Attach delivered left to it: with reading paused, so
// that the peer's handshake, which follows the acknowledgement, is not
// read as data meanwhile.
func (p *protocol) attachTo(d *adapters.Detached) error {
	p.attacher.Store(goid.Get())
	err := d.Attach(p.driven())
	p.attacher.Store(0)
	if p.upgradeLater.Swap(false) {
		p.it.upgradePaused()
	}
	return err
}

// rxConsumer subscribes to an Observable with a context it may cancel.
type rxConsumer struct {
	reader
	items  <-chan rxgo.Item
	cancel func()
}

// run receives items until the Observable completes.
func (rc *rxConsumer) run() {
	defer close(rc.done)
	ctx := rc.it.ctx
	lost := false
	for {
		select {
		case <-rc.stall.C():
		case <-ctx.Done():
			return
		}
		select {
		case item, ok := <-rc.items:
			switch {
			case !ok:
				rc.it.log.Done(rc.c)
				return
			case lost:
				rc.it.log.Violationf("%s: item %+v after Lost (LC2)", rc.c.Name, item)
			case item.Error():
				if errors.Is(item.E, stream.ErrAlreadySubscribed) {
					rc.it.log.Refused(rc.c, item.E)
					lost = true
				} else {
					rc.it.log.Violationf("%s: error item %v: rxnet emits none", rc.c.Name, item.E)
				}
			default:
				e, isEvent := item.V.(stream.Event)
				if !isEvent {
					rc.it.log.Violationf("%s: item %T is not an Event", rc.c.Name, item.V)
					continue
				}
				lost = !rc.handle(e)
			}
		case <-ctx.Done():
			return
		}
	}
}

// driven returns what the adapter drives: p itself, a Protocol, or with
// a bufSize p as a BufferedProtocol, whose reads go into a buffer of that
// size and reach DataReceived from BufferUpdated, so every check sees
// the same bytes either way.
func (p *protocol) driven() adapters.StreamProtocol {
	if p.bufSize == 0 {
		return p
	}
	return &bufferedView{protocol: p, buf: make([]byte, p.bufSize)}
}

// bufferedView drives a protocol as a BufferedProtocol (see driven).
type bufferedView struct {
	*protocol
	buf []byte
}

var _ adapters.BufferedProtocol = (*bufferedView)(nil)

func (b *bufferedView) GetBuffer(int) []byte { return b.buf }
func (b *bufferedView) BufferUpdated(n int)  { b.DataReceived(b.buf[:n]) }
