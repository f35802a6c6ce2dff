package stream_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestRD2_FramedPipelineStallStopsSocketReads: a TCP transport framed
// into lines and filtered by rx, whose final subscriber stops consuming,
// stops reading from the socket: while the peer floods, what the
// transport read stays bounded (the read limit plus the reads the stages
// hold), and the peer's writes stall in the kernel's buffers.
func TestRD2_FramedPipelineStallStopsSocketReads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const readLimit = 64 << 10
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithReadLimit(readLimit))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	peer, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	tr, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}

	lines := stream.Lines(1024).Observable(tr.Observable(), tr.Abort).
		Filter(func(v any) bool { return v.(stream.Event).Kind == stream.Data })
	items := lines.Observe(rxgo.WithContext(ctx))

	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	flood := bytes.Repeat(line, 1<<10) // 100 KiB per write
	go func() {
		for sent := 0; sent < 64<<20; sent += len(flood) {
			if _, err := peer.Write(flood); err != nil {
				return // closed at the end of the test
			}
		}
	}()
	<-items // one line taken, then the subscriber stalls

	read := waitStable(t, func() int64 { return tr.Stats().BytesRead })
	// The queue's events hold the read limit; one read waits to be queued,
	// the framer holds one event, and rxgo's stages a frame each.
	if bound := int64(readLimit + 2*(readLimit/transport.DefaultEventBuffer) + 4<<10); read > bound {
		t.Fatalf("the stalled pipeline let the transport read %d bytes, want at most %d", read, bound)
	}
	t.Logf("read %d bytes before stalling", read)
	cancel() // ends the subscription: the transport is aborted
	for range items {
	}
	peer.Close()
}

// waitStable returns f's value once it has not changed for 300 ms; it
// fails the test when that does not happen within 20 s.
func waitStable(t *testing.T, f func() int64) int64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last, since := f(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling a counter: there is no event to wait on
		if v := f(); v != last {
			last, since = v, time.Now()
		} else if time.Since(since) > 300*time.Millisecond && v > 0 {
			return v
		}
	}
	t.Fatalf("the counter never settled (last %d)", last)
	return 0
}
