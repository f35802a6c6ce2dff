package transporttest

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var drainTests = []test{
	{"WR5_DR1_NilWhenNotPaused", testDrainNotPaused},
	{"WR5_DR6_ConcurrentWaitersReleased", testDrainConcurrent},
	{"WR5_DR5_AbortWhileWaiting", testDrainEnded},
	{"WR5_CtxEndsWait", testDrainCtx},
}

// pauseWriting makes a transport with limits 64 KiB / 16 KiB and writes
// until it pauses; the peer does not read.
func pauseWriting(t *testing.T, newPair NewPair, opts ...transport.Option) (Pair, <-chan stream.Event, *out) {
	t.Helper()
	opts = append([]transport.Option{transport.WithWriteBufferLimits(64<<10, 16<<10)}, opts...)
	p, ch := claim(t, newPair, opts...)
	w := writeUntilPaused(t, p.Transport)
	expect(t, ch, stream.PauseWriting)
	return p, ch, w
}

// writeUntilPaused writes until the transport pauses, then 4 MiB more, so
// that it stays paused however much more the kernel takes while the peer
// does not read.
func writeUntilPaused(t *testing.T, tr transport.Transport) *out {
	t.Helper()
	w := &out{tr: tr}
	for !paused(tr) {
		if w.off > 1<<30 {
			t.Fatalf("wrote %d bytes without a pause", w.off)
		}
		w.write(t, 64<<10)
	}
	w.write(t, 4<<20)
	return w
}

// drainAsync runs Drain(ctx) in a goroutine; the result arrives on the
// channel.
func drainAsync(ctx context.Context, tr transport.Transport) <-chan error {
	done := make(chan error, 1)
	go func() { done <- tr.Drain(ctx) }()
	return done
}

func testDrainNotPaused(t *testing.T, newPair NewPair) {
	p, _ := claim(t, newPair)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// Not paused: nil at once, without looking at ctx.
	if err := p.Transport.Drain(cancelled); err != nil {
		t.Fatalf("Drain on an idle transport = %v, want nil at once", err)
	}
	(&out{tr: p.Transport}).write(t, 100)
	if err := p.Transport.Drain(cancelled); err != nil {
		t.Fatalf("Drain after a small write = %v, want nil", err)
	}
}

func testDrainConcurrent(t *testing.T, newPair NewPair) {
	p, ch, w := pauseWriting(t, newPair)
	const waiters = 10
	var results []<-chan error
	for range waiters {
		results = append(results, drainAsync(context.Background(), p.Transport))
	}
	// One waiter gives up; the others are not disturbed.
	ctx, cancel := context.WithCancel(context.Background())
	quitter := drainAsync(ctx, p.Transport)
	cancel()
	if err := recvErr(t, quitter, "Drain with a cancelled ctx"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain with a cancelled ctx = %v, want context.Canceled", err)
	}
	if !paused(p.Transport) {
		t.Fatalf("a cancelled Drain changed the paused state")
	}
	(&in{c: p.Peer}).read(t, w.off)
	expect(t, ch, stream.ResumeWriting)
	for i, r := range results {
		if err := recvErr(t, r, "Drain after the resume"); err != nil {
			t.Fatalf("waiter %d: Drain = %v after the resume, want nil", i, err)
		}
	}
}

func testDrainEnded(t *testing.T, newPair NewPair) {
	for _, tc := range []struct {
		name string
		end  func(tr transport.Transport)
	}{
		{name: "Abort", end: func(tr transport.Transport) { tr.Abort() }},
		// Close releases the waiters at once, though it goes on flushing.
		{name: "Close", end: func(tr transport.Transport) { tr.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, _ := pauseWriting(t, newPair)
			var results []<-chan error
			for range 5 {
				results = append(results, drainAsync(context.Background(), p.Transport))
			}
			tc.end(p.Transport)
			for i, r := range results {
				if err := recvErr(t, r, "Drain after "+tc.name); !errors.Is(err, net.ErrClosed) {
					t.Fatalf("waiter %d: Drain = %v after %s, want an error matching net.ErrClosed", i, err, tc.name)
				}
			}
			if err := p.Transport.Drain(context.Background()); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Drain after %s = %v, want an error matching net.ErrClosed", tc.name, err)
			}
		})
	}
}

func testDrainCtx(t *testing.T, newPair NewPair) {
	p, _, _ := pauseWriting(t, newPair)
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if err := p.Transport.Drain(expired); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with an expired ctx while paused = %v, want context.DeadlineExceeded", err)
	}
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := p.Transport.Drain(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Drain with a cancelled ctx while paused = %v, want context.Canceled", err)
	}
	if !paused(p.Transport) {
		t.Fatalf("Drain's ctx changed the paused state")
	}
}
