package chaos

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rxnet/rxnet/transport"
)

// The checker's own tests: each feeds the Log what a broken consumer (or
// a broken library) would deliver and expects the invariant it breaks.

// TestChaos_PatternLocatesChunks checks the counter stream: any piece of
// at least 7 bytes says where it comes from, and Mismatch finds the first
// wrong byte.
func TestChaos_PatternLocatesChunks(t *testing.T) {
	for _, off := range []int64{0, 1, 2, 3, 4, 1021, 1 << 20} {
		for _, n := range []int{7, 8, 9, 100, 4096} {
			b := Pattern(off, n)
			if i := Mismatch(b, off); i != -1 {
				t.Fatalf("Mismatch(Pattern(%d, %d)) = %d, want -1", off, n, i)
			}
			if got, ok := Locate(b); !ok || got != off {
				t.Fatalf("Locate(Pattern(%d, %d)) = %d, %v", off, n, got, ok)
			}
			b[n/2] ^= 1
			if i := Mismatch(b, off); i != n/2 {
				t.Fatalf("Mismatch with byte %d flipped = %d", n/2, i)
			}
		}
	}
	if _, ok := Locate(Pattern(10, 6)); ok {
		t.Error("Locate of 6 bytes succeeded: too short to be sure")
	}
}

// channelLog returns a log whose owner is a channel consumer that took
// Made, and that consumer.
func channelLog() (*Log, *Consumer) {
	l := NewLog(0)
	c := l.NewConsumer("T.events", RoleChannel)
	l.SetOwner(c)
	l.Made(c)
	return l, c
}

// TestChaos_CheckerCatchesBrokenDeliveries feeds the Log broken event
// sequences; each must be reported with the invariant it breaks.
func TestChaos_CheckerCatchesBrokenDeliveries(t *testing.T) {
	for _, tc := range []struct {
		name string
		feed func(l *Log, c *Consumer)
		want string
	}{
		{"repeated bytes", func(l *Log, c *Consumer) {
			l.Data(c, Pattern(0, 100))
			l.Data(c, Pattern(60, 100))
		}, "bytes 60..160 again: 40 bytes repeated"},
		{"lost bytes", func(l *Log, c *Consumer) {
			l.Data(c, Pattern(0, 100))
			l.Data(c, Pattern(130, 20))
		}, "bytes 100..130 were lost"},
		{"foreign bytes", func(l *Log, c *Consumer) {
			l.Data(c, bytes.Repeat([]byte{0xff}, 20))
		}, "not a piece of the peer's stream"},
		{"Data after EOF", func(l *Log, c *Consumer) {
			l.EOF(c)
			l.Data(c, Pattern(0, 10))
		}, "Data after EOF (RD1)"},
		{"two Losts", func(l *Log, c *Consumer) {
			l.Lost(c, nil)
			l.Lost(c, nil)
		}, "want exactly one (LC2)"},
		{"event after Lost", func(l *Log, c *Consumer) {
			l.Lost(c, nil)
			l.Flow(c, true)
		}, "PauseWriting after Lost"},
		{"event after handing over", func(l *Log, c *Consumer) {
			p := l.NewConsumer("P1", RoleAttached)
			l.SetOwner(p)
			l.Data(c, Pattern(0, 10))
		}, "T.events: Data, but P1 owns the stream"},
		{"Made twice", func(l *Log, c *Consumer) { l.Made(c) }, "Made number 2"},
		{"Made for an attached protocol", func(l *Log, c *Consumer) {
			p := l.NewConsumer("P1", RoleAttached)
			l.SetOwner(p)
			l.Made(p)
		}, "none for a protocol given to Attach (LC1)"},
		{"flow not alternating", func(l *Log, c *Consumer) { l.Flow(c, false) }, "does not alternate (WR4)"},
		{"closed without Lost", func(l *Log, c *Consumer) { l.Done(c) }, "without Lost (LC2)"},
		{"no Lost at the end", func(l *Log, c *Consumer) {}, "no Lost reached any consumer"},
		{"Lost to an old owner", func(l *Log, c *Consumer) {
			l.Lost(c, nil)
			l.Done(c)
			l.SetOwner(l.NewConsumer("D1", RoleUnclaimed))
		}, "Lost went to T.events, but the last owner is D1"},
		{"channel not closed", func(l *Log, c *Consumer) { l.Lost(c, nil) }, "not closed (or completed) after Lost"},
		{"short EOF", func(l *Log, c *Consumer) {
			l.PeerWrote(200)
			l.PeerEnded(endFIN, false)
			l.Data(c, Pattern(0, 150))
			l.EOF(c)
			l.Lost(c, nil)
			l.Done(c)
		}, "EOF after 150 bytes, but the peer sent 200"},
		{"FIN without EOF", func(l *Log, c *Consumer) {
			l.PeerWrote(200)
			l.PeerEnded(endFIN, false)
			l.Data(c, Pattern(0, 200))
			l.Lost(c, nil)
			l.Done(c)
		}, "yet no EOF reached any consumer"},
		{"Lost with an error for nothing", func(l *Log, c *Consumer) {
			l.Lost(c, errors.New("boom"))
			l.Done(c)
		}, "Lost(boom), but nothing failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c := channelLog()
			tc.feed(l, c)
			err := l.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestChaos_CheckerAcceptsDocumentedDrops feeds the Log what a local
// Close may do: a prefix of the data, then Lost, no EOF; and a clean
// end. Neither is a violation.
func TestChaos_CheckerAcceptsDocumentedDrops(t *testing.T) {
	l, c := channelLog()
	l.PeerWrote(300)
	l.Data(c, Pattern(0, 100))
	l.LocalEnd("Close")
	l.PeerEnded(endFIN, false)
	l.Lost(c, nil)
	l.Done(c)
	if err := l.Check(); err != nil {
		t.Errorf("a prefix then Lost after a local Close: %v", err)
	}
	l, c = channelLog()
	l.PeerWrote(300)
	l.PeerEnded(endFIN, false)
	l.Data(c, Pattern(0, 120))
	l.Data(c, Pattern(120, 180))
	l.EOF(c)
	l.LocalEnd("Close at EOF")
	l.Lost(c, nil)
	l.Done(c)
	if err := l.Check(); err != nil {
		t.Errorf("a clean end: %v", err)
	}
}

// brokenPlan is a plan without handoffs, so that nothing but the fault
// can break it: a channel consumer reads a peer that sends 64 KiB in
// 1 KiB chunks and FIN.
func brokenPlan(fault func([]byte) [][]byte) plan {
	pl := plan{dial: true, first: RoleChannel, waitPeerEnd: true, fault: fault}
	pl.opts = []transport.Option{transport.WithReadLimit(4096)} // reads of 1 KiB: many chunks
	chunks := make([]int, 64)
	for i := range chunks {
		chunks[i] = 1 << 10
	}
	pl.peer = peerPlan{segments: [][]int{chunks}, end: endFIN}
	return pl
}

// TestChaos_BrokenConsumerIsCaught runs whole iterations whose consumer
// repeats, or loses, bytes of one chunk: the run must fail, naming the
// bytes; the same iteration with a correct consumer passes.
func TestChaos_BrokenConsumerIsCaught(t *testing.T) {
	env := newTestEnv(t)
	run := func(fault func([]byte) [][]byte) error {
		return execute(env, 1, Kinds[0], brokenPlan(fault), nil, 10*time.Second, (*iteration).finish)
	}
	if err := run(nil); err != nil {
		t.Fatalf("the correct consumer failed: %v", err)
	}
	// Each fault counts its own chunks: a failed run's consumer may still
	// be finishing when the next run starts.
	var repeated, lost atomic.Int32
	repeat := func(b []byte) [][]byte {
		if repeated.Add(1) == 3 {
			return [][]byte{b, b[len(b)/2:]}
		}
		return [][]byte{b}
	}
	if err := run(repeat); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("a consumer repeating bytes: %v, want repeated bytes reported", err)
	}
	lose := func(b []byte) [][]byte {
		if lost.Add(1) == 3 && len(b) > 1 {
			return [][]byte{b[:len(b)-1]}
		}
		return [][]byte{b}
	}
	if err := run(lose); err == nil || !strings.Contains(err.Error(), "lost") {
		t.Errorf("a consumer losing a byte: %v, want lost bytes reported", err)
	}
}
