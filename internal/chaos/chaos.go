package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// iteration is one seeded run: one connection between the transport
// under test ("this side") and a peer, whose events pass along a chain of
// consumers while the driver, the consumers and the peer act on it.
type iteration struct {
	seed uint64
	kind Kind
	env  *Env
	rng  *rand.Rand // the driver goroutine's only
	ctx  context.Context
	log  *Log
	plan plan

	tr   transport.Transport
	srv  *transport.Server // when this side was accepted
	peer *peer

	upgraded  chan struct{} // closed once StartTLS returned (StartTLS kinds)
	upOnce    sync.Once
	upStarted atomic.Bool

	wmu   sync.Mutex // one writer of this side's stream at a time
	wrote int64      // bytes of this side's stream written

	readMu sync.Mutex // keeps PauseReading/ResumeReading and the Log's flag together

	armDone chan struct{} // an armed callback did its action

	cancelled bool // Connect's context won: nothing opened (the driver's)

	mu      sync.Mutex // guards the fields below
	cur     link       // the owner, as the driver sees it
	links   int        // links made so far (for names)
	aborted bool       // Abort, a cancelled subscription, or a failed StartTLS
	readers []*reader
	cancels []context.CancelFunc // the Observable subscriptions'
}

// link is the chain's current owner and what drives it.
type link struct {
	c     *Consumer
	proto *protocol
	det   *adapters.Detached // a Detached, claimed or not
	ch    *channelConsumer
	rx    *rxConsumer
}

// runIteration runs the iteration of seed and returns the broken
// invariants (or why it got stuck), nil when all held. timeout bounds the
// whole iteration: a wait that outlasts it is reported as stuck, with the
// chain's state and the goroutines as they were.
func runIteration(env *Env, seed uint64, timeout time.Duration) error {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	kind := KindOf(seed)
	return execute(env, seed, kind, drawPlan(rng, kind), rng, timeout, (*iteration).steps)
}

// execute opens a connection as pl says, runs script (which ends it), and
// checks the result.
func execute(env *Env, seed uint64, kind Kind, pl plan, rng *rand.Rand, timeout time.Duration, script func(*iteration) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	it := &iteration{
		seed: seed, kind: kind, env: env, ctx: ctx, rng: rng, plan: pl,
		log:      NewLog(pl.peer.upgradeAt),
		upgraded: make(chan struct{}), armDone: make(chan struct{}, 1),
	}
	err := it.run(script)
	switch {
	case errors.Is(err, errBroken):
		err = it.log.Err()
	case err != nil:
		if e := it.log.Err(); e != nil {
			err = fmt.Errorf("%w\n%v", err, e)
		}
	case it.log.Failed(): // stopped at the first broken invariant
		err = it.log.Err()
	case !it.cancelled:
		err = it.log.Check()
	}
	if err != nil {
		state := it.transportState()
		stacks := libraryStacks(ctx) // before abandon changes them
		it.abandon()
		return fmt.Errorf("%s seed %d: %w\n%v\n%s%s%s", kind.Name, seed, err, pl, it.log.Report(), state, stacks)
	}
	return nil
}

// run opens the connection and runs script.
func (it *iteration) run(script func(*iteration) error) error {
	opened, err := it.open()
	if err != nil || !opened {
		return err
	}
	return script(it)
}

// steps is the seeded script: the plan's number of random steps (see
// step), then the end (see finish); it stops at the first broken
// invariant.
func (it *iteration) steps() error {
	for range it.plan.steps {
		if err := it.step(); err != nil {
			return err
		}
		if it.log.Failed() {
			return nil
		}
	}
	return it.finish()
}

// transportState describes the transport, for a failure's report.
func (it *iteration) transportState() string {
	if it.tr == nil {
		return ""
	}
	st := it.tr.Stats()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	return fmt.Sprintf("\ntransport: closing=%v (Drain: %v) read=%d written=%d events=%d write pauses=%d read pauses=%d",
		it.tr.IsClosing(), it.tr.Drain(done), st.BytesRead, st.BytesWritten, st.Events, st.WritePauses, st.ReadPauses)
}

// abandon frees what a failed iteration can still free.
func (it *iteration) abandon() {
	it.mu.Lock()
	for _, cancel := range it.cancels {
		cancel()
	}
	it.mu.Unlock()
	if it.tr != nil {
		it.tr.Abort()
	}
	if it.peer != nil {
		it.peer.raw.Close()
	}
	if it.srv != nil {
		it.srv.Close()
	}
}

// libraryStacks returns the goroutines in rxnet's packages (the suite's
// included) when ctx ended (a stuck iteration), for the report.
func libraryStacks(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var b strings.Builder
	b.WriteString("\ngoroutines in rxnet (the suite's included):\n")
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "rxnet/rxnet/") && !strings.Contains(g, "internal/chaos.libraryStacks") && !strings.Contains(g, "testing.(*M).Run") {
			b.WriteString(g + "\n\n")
		}
	}
	if b.Len() > 16<<10 {
		return b.String()[:16<<10] + "\n..."
	}
	return b.String()
}

// name returns the name of the next link: P for a protocol, D for a
// Detached, with its place in the chain.
func (it *iteration) name(prefix string) string {
	it.mu.Lock()
	defer it.mu.Unlock()
	n := fmt.Sprintf("%s%d", prefix, it.links)
	it.links++
	return n
}

// owner returns the current link.
func (it *iteration) owner() link {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.cur
}

func (it *iteration) setOwner(l link) {
	it.mu.Lock()
	it.cur = l
	it.mu.Unlock()
	it.log.SetOwner(l.c)
}

// newProtocol makes a protocol; role is RoleProtocol for the first one.
func (it *iteration) newProtocol(role Role, pp protoPlan) *protocol {
	p := &protocol{it: it, keepOpen: pp.keepOpen, closeAtEOF: pp.closeAtEOF, bufSize: pp.bufSize}
	p.c = it.log.NewConsumer(it.name("P"), role)
	if role == RoleAttached {
		p.tr = it.tr
	}
	return p
}

// adopt makes d the owner: a Detached nobody has claimed yet.
func (it *iteration) adopt(d *adapters.Detached, how string) {
	c := it.log.NewConsumer(it.name("D"), RoleUnclaimed)
	it.log.Note(c.Name, "Detach "+how)
	it.setOwner(link{c: c, det: d})
}

// armFired tells the driver that an armed callback did its action.
func (it *iteration) armFired() {
	select {
	case it.armDone <- struct{}{}:
	default:
	}
}

// upgrade runs StartTLS once this side has taken the agreed plain prefix:
// it acknowledges in plain, then upgrades in the role the plan gives.
func (it *iteration) upgrade() {
	it.upStarted.Store(true)
	defer it.upOnce.Do(func() { close(it.upgraded) })
	if _, err := it.tr.Write(Ack); err != nil {
		it.setAborted()
		it.log.Upgraded(fmt.Errorf("writing the acknowledgement: %w", err))
		return
	}
	cfg, opts := it.env.ClientTLS, []transport.Option(nil)
	if !it.plan.peer.tlsServer {
		cfg, opts = it.env.ServerTLS, []transport.Option{transport.WithServerSide()}
	}
	err := transport.StartTLS(it.ctx, it.tr, cfg, opts...)
	if err != nil {
		it.setAborted() // the transport closes at once, dropping its buffer
	}
	it.log.Upgraded(err)
}

// upgradePaused runs upgrade from outside the callbacks, with reading
// paused meanwhile.
func (it *iteration) upgradePaused() {
	it.readMu.Lock()
	defer it.readMu.Unlock()
	it.pauseLocked()
	it.upgrade()
	it.resumeLocked()
}

// data records a chunk c received. The plan's fault, set only by the
// checker's own tests, may change what is recorded (a consumer that
// repeats or loses bytes), to show that the checks catch it.
func (it *iteration) data(c *Consumer, b []byte) (upgradeNow bool) {
	if it.plan.fault == nil {
		return it.log.Data(c, b)
	}
	for _, x := range it.plan.fault(b) {
		upgradeNow = it.log.Data(c, x) || upgradeNow
	}
	return upgradeNow
}

// canWrite reports whether this side may write its stream now: not
// before a StartTLS kind's upgrade (the peer reads the acknowledgement
// first).
func (it *iteration) canWrite() bool {
	if it.plan.peer.upgradeAt == 0 {
		return true
	}
	select {
	case <-it.upgraded:
		return true
	default:
		return false
	}
}

// write writes n bytes of this side's stream.
func (it *iteration) write(n int) error {
	it.wmu.Lock()
	defer it.wmu.Unlock()
	_, err := it.tr.Write(Pattern(it.wrote, n))
	if err == nil {
		it.wrote += int64(n)
	} else {
		it.log.Note("local", fmt.Sprintf("Write: %v", err))
	}
	return err
}

// localClose closes this side.
func (it *iteration) localClose(what string) {
	it.log.LocalEnd(what)
	it.tr.Close()
}

// localAbort aborts this side.
func (it *iteration) localAbort(what string) {
	it.setAborted()
	it.log.LocalEnd(what)
	it.tr.Abort()
}

func (it *iteration) setAborted() {
	it.mu.Lock()
	it.aborted = true
	it.mu.Unlock()
}
