package chaos

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"

	"github.com/rxnet/rxnet/transport"
)

// plan is what a seed decides before the connection opens: how it is
// made, the first consumer, the transport's options, what the peer
// sends and how it ends, and how many steps the driver takes. The steps
// themselves are drawn as the iteration goes, from the state it is in.
type plan struct {
	dial          bool // this side dials; else a Server accepts it
	first         Role // RoleProtocol, RoleChannel or RoleRx
	cancelConnect bool // race Connect's context with its cancellation
	opts          []transport.Option
	optDesc       []string
	closeAtEOF    bool // the first channel or Observable consumer's
	p0            protoPlan
	peer          peerPlan
	steps         int

	// The end.
	waitPeerEnd      bool // wait for the peer's FIN or reset before closing
	abortAtEnd       bool // Abort rather than Close
	closeBeforeClaim bool // an unclaimed Detached is claimed after the close
	claimRxAtEnd     bool // ... as an Observable rather than a channel

	// fault, for the checker's own tests only, rewrites each chunk a
	// consumer receives before it is recorded.
	fault func(chunk []byte) [][]byte
}

// protoPlan is how a protocol behaves.
type protoPlan struct {
	keepOpen, closeAtEOF, detachMade bool
	// bufSize, when not 0, makes it a BufferedProtocol reading into a
	// buffer of that many bytes (bufferedView).
	bufSize int
}

// newP0 makes the chain's first protocol.
func (pl plan) newP0(it *iteration) *protocol {
	p := it.newProtocol(RoleProtocol, pl.p0)
	p.detachMade = pl.p0.detachMade
	return p
}

// chance reports true with probability n/100.
func chance(rng *rand.Rand, n int) bool { return rng.IntN(100) < n }

// pick returns one of xs.
func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// pickWeighted returns xs[i] with probability weights[i]/sum(weights).
func pickWeighted[T any](rng *rand.Rand, weights []int, xs ...T) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n -= w; n < 0 {
			return xs[i]
		}
	}
	return xs[len(xs)-1]
}

// drawPlan draws an iteration's plan for kind.
func drawPlan(rng *rand.Rand, kind Kind) plan {
	pl := plan{dial: chance(rng, 50), steps: 2 + rng.IntN(11)}
	pl.first = pickWeighted(rng, []int{6, 2, 2}, RoleProtocol, RoleChannel, RoleRx)
	pl.cancelConnect = pl.dial && pl.first == RoleProtocol && chance(rng, 10)
	pl.closeAtEOF = chance(rng, 40)
	pl.p0 = drawProto(rng)
	pl.p0.detachMade = chance(rng, 8)
	pl.opts, pl.optDesc = drawOptions(rng)
	pl.peer = drawPeer(rng, kind)
	pl.waitPeerEnd = chance(rng, 80)
	pl.abortAtEnd = chance(rng, 25)
	pl.closeBeforeClaim = chance(rng, 30)
	pl.claimRxAtEnd = chance(rng, 40)
	return pl
}

func drawProto(rng *rand.Rand) protoPlan {
	return protoPlan{keepOpen: chance(rng, 50), closeAtEOF: chance(rng, 30), bufSize: pick(rng, 0, 0, 61, 4096)}
}

// drawOptions draws the transport's options: small reads and channels
// make many events and full channels; small write limits and socket
// buffers make writes pause.
func drawOptions(rng *rand.Rand) (opts []transport.Option, desc []string) {
	add := func(o transport.Option, format string, args ...any) {
		opts = append(opts, o)
		desc = append(desc, fmt.Sprintf(format, args...))
	}
	if n := pick(rng, 0, 0, 37, 256, 4096); n > 0 {
		add(transport.WithReadLimit(n), "WithReadLimit(%d)", n)
	}
	if n := pick(rng, 0, 0, 2, 3); n > 0 {
		add(transport.WithEventBuffer(n), "WithEventBuffer(%d)", n)
	}
	if chance(rng, 50) {
		high := pick(rng, 1024, 4096, 0)
		add(transport.WithWriteBufferLimits(high, transport.DefaultLimit), "WithWriteBufferLimits(%d, DefaultLimit)", high)
	}
	if chance(rng, 50) {
		add(transport.WithHalfClose(), "WithHalfClose()")
	}
	if chance(rng, 50) {
		add(transport.WithPooledData(), "WithPooledData()")
	}
	if runtime.GOOS == "linux" && chance(rng, 50) {
		add(transport.WithSendBuffer(4096), "WithSendBuffer(4096)")
	}
	return opts, desc
}

// drawPeer draws what the peer sends (the counter stream, in segments of
// chunks) and how it ends.
func drawPeer(rng *rand.Rand, kind Kind) peerPlan {
	pp := peerPlan{tls: kind.TLS}
	var total int64
	switch r := rng.IntN(20); {
	case r < 6:
		total = 1 + rng.Int64N(512)
	case r < 14:
		total = 512 + rng.Int64N(16<<10)
	case r < 19:
		total = 16<<10 + rng.Int64N(128<<10)
	default:
		total = 128<<10 + rng.Int64N(1<<20)
	}
	if kind.StartTLS {
		total = max(total, 2)
		pp.upgradeAt = 1 + rng.Int64N(total-1)
		pp.tlsServer = chance(rng, 50)
	}
	maxChunk := max(pick(rng, 7, 64, 1500, 16<<10, 64<<10), int(total/1000)) // at most some 2000 chunks
	segs := 1 + rng.IntN(5)
	var off int64
	for i := range segs {
		end := total
		if i < segs-1 {
			end = off + rng.Int64N(total-off+1)
		}
		var chunks []int
		for off < end {
			n := min(int64(1+rng.IntN(maxChunk)), end-off)
			if pp.upgradeAt > off && pp.upgradeAt < off+n {
				n = pp.upgradeAt - off // the plain part ends on a chunk boundary
			}
			chunks = append(chunks, int(n))
			off += n
		}
		pp.segments = append(pp.segments, chunks)
	}
	pp.end = pickWeighted(rng, []int{5, 2, 2, 1}, endFIN, endReset, endNone, endTruncate)
	if pp.end == endTruncate && !kind.TLS && !kind.StartTLS {
		pp.end = endFIN // a bare FIN is only a truncation under TLS
	}
	return pp
}

// String describes the plan, for a failure's report.
func (pl plan) String() string {
	var total int64
	chunks := 0
	for _, seg := range pl.peer.segments {
		for _, n := range seg {
			total += int64(n)
			chunks++
		}
	}
	first := map[Role]string{RoleProtocol: "protocol", RoleChannel: "Events", RoleRx: "Observable"}[pl.first]
	return fmt.Sprintf("plan: dial=%v first=%s cancelConnect=%v p0=%+v options=[%s] peer: %d bytes in %d chunks, %d segments, end=%s, upgradeAt=%d, peerTLSServer=%v; steps=%d waitPeerEnd=%v abortAtEnd=%v closeBeforeClaim=%v claimRxAtEnd=%v",
		pl.dial, first, pl.cancelConnect, pl.p0, strings.Join(pl.optDesc, " "), total, chunks, len(pl.peer.segments),
		pl.peer.end, pl.peer.upgradeAt, pl.peer.tlsServer, pl.steps, pl.waitPeerEnd, pl.abortAtEnd, pl.closeBeforeClaim, pl.claimRxAtEnd)
}
