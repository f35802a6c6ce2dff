package transporttest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

var concurrencyTests = []test{
	{"CC1_ConcurrentWritesStayWhole", testConcurrentWrites},
	{"CC1_ConcurrentReadControl", testConcurrentReadControl},
	{"CC1_ConcurrentCloseAbort", testConcurrentEnd},
	{"CC1_ConcurrentClaims", testConcurrentClaims},
}

// record returns writer id's record number seq: a header (id, seq) and a
// body derived from both, so that a torn or misplaced record shows.
func record(id, seq, size int) []byte {
	b := make([]byte, size)
	b[0] = byte(id)
	binary.BigEndian.PutUint32(b[1:5], uint32(seq))
	for i := 5; i < size; i++ {
		b[i] = byte(id*31 + seq*7 + i)
	}
	return b
}

// collectAsync collects every event until the channel closes, in a
// goroutine; the trace arrives on the returned channel.
func collectAsync(ch <-chan stream.Event) <-chan []stream.Event {
	done := make(chan []stream.Event, 1)
	go func() {
		var evs []stream.Event
		for e := range ch {
			evs = append(evs, e)
		}
		done <- evs
	}()
	return done
}

// untilStopped runs f in a goroutine over and over until stop is closed;
// wg tracks it.
func untilStopped(wg *sync.WaitGroup, stop <-chan struct{}, f func()) {
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				f()
			}
		}
	})
}

func testConcurrentWrites(t *testing.T, newPair NewPair) {
	const writers, records, size = 8, 150, 700
	p, ch := claim(t, newPair, transport.WithWriteBufferLimits(16<<10, def))
	tr := p.Transport
	trace := collectAsync(ch)

	total := int64(writers * records * size)
	received := make(chan []byte, 1)
	go func() {
		r := &bytes.Buffer{}
		p.Peer.SetReadDeadline(time.Now().Add(waitTimeout))
		r.ReadFrom(io.LimitReader(p.Peer, total))
		received <- r.Bytes()
	}()

	// Every other method, meanwhile.
	stop := make(chan struct{})
	var side sync.WaitGroup
	untilStopped(&side, stop, func() {
		tr.SetWriteBufferLimits(32<<10, 8<<10)
		tr.SetWriteBufferLimits(16<<10, def)
	})
	untilStopped(&side, stop, func() {
		tr.PauseReading()
		tr.IsReading()
		tr.ResumeReading()
	})
	untilStopped(&side, stop, func() {
		tr.WriteBufferSize()
		tr.WriteBufferLimits()
		tr.Writable()
		tr.IsClosing()
		tr.CanWriteEOF()
		tr.ExtraInfo(transport.InfoPeername)
	})

	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for id := range writers {
		wg.Go(func() {
			for seq := range records {
				b := record(id, seq, size)
				var err error
				if seq%2 == 0 {
					_, err = tr.Write(b)
				} else {
					_, err = tr.WriteBuffers([][]byte{b[:3], nil, b[3:]})
				}
				if err == nil && seq%10 == 0 {
					err = tr.Drain(context.Background())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	writersDone := make(chan error, 1)
	go func() { wg.Wait(); close(errs); writersDone <- <-errs }()
	if err := recvErr(t, writersDone, "concurrent writers"); err != nil {
		t.Fatalf("writer: %v", err)
	}
	close(stop)
	side.Wait()

	var data []byte
	select {
	case data = <-received:
	case <-time.After(waitTimeout):
		t.Fatalf("peer did not receive %d bytes", total)
	}
	if int64(len(data)) != total {
		t.Fatalf("peer received %d bytes, want %d", len(data), total)
	}
	next := make([]int, writers)
	for off := 0; off < len(data); off += size {
		rec := data[off : off+size]
		id, seq := int(rec[0]), int(binary.BigEndian.Uint32(rec[1:5]))
		if id >= writers || seq != next[id] || !bytes.Equal(rec, record(id, seq, size)) {
			t.Fatalf("bytes %d..%d are not writer %d's record %d whole and in order", off, off+size, id, next[min(id, writers-1)])
		}
		next[id]++
	}
	tr.Close()
	answerClose(t, p)
	select {
	case evs := <-trace:
		checkTrace(t, append([]stream.Event{{Kind: stream.Made}}, evs...))
	case <-time.After(waitTimeout):
		t.Fatalf("no Lost after Close")
	}
}

func testConcurrentReadControl(t *testing.T, newPair NewPair) {
	const size = 4 << 20
	p, ch := claim(t, newPair, transport.WithReadLimit(64<<10), transport.WithEventBuffer(16))
	tr := p.Transport
	peer := &peerOut{c: p.Peer}
	sent := peer.sendAsync(size, true)
	stop := make(chan struct{})
	var toggler sync.WaitGroup
	untilStopped(&toggler, stop, func() {
		tr.PauseReading()
		tr.IsReading()
		tr.ResumeReading()
	})
	var d dataIn
	d.until(t, ch, size) // nothing lost, duplicated or reordered by the toggling
	close(stop)
	toggler.Wait()
	if err := recvErr(t, sent, "peer write"); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	expect(t, ch, stream.EOF)
	expectLost(t, ch)
}

func testConcurrentEnd(t *testing.T, newPair NewPair) {
	p, ch := claim(t, newPair)
	tr := p.Transport
	trace := collectAsync(ch)
	ops := []func(){
		func() { tr.Close() },
		func() { tr.Abort() },
		func() { tr.Write([]byte("x")) },
		func() { tr.WriteBuffers([][]byte{[]byte("x"), []byte("y")}) },
		func() { tr.WriteEOF() },
		func() { tr.SetWriteBufferLimits(0, 0) },
		func() { tr.Drain(context.Background()) },
		func() { tr.PauseReading() },
		func() { tr.ResumeReading() },
		func() { tr.IsClosing() },
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		for _, op := range ops {
			wg.Go(func() { <-start; op() })
		}
	}
	close(start)
	done := make(chan error, 1)
	go func() { wg.Wait(); done <- nil }()
	recvErr(t, done, "concurrent Close, Abort and the rest")
	if !tr.IsClosing() {
		t.Fatalf("IsClosing false after concurrent Close and Abort")
	}
	discardToEOF(t, p.Peer)
	select {
	case evs := <-trace:
		checkTrace(t, append([]stream.Event{{Kind: stream.Made}}, evs...))
	case <-time.After(waitTimeout):
		t.Fatalf("no Lost after concurrent Close and Abort")
	}
}

// testConcurrentClaims claims the events from many goroutines at once:
// every Events call gets the one channel, an Observable gets
// ErrAlreadySubscribed, and Made comes once.
func testConcurrentClaims(t *testing.T, newPair NewPair) {
	p := newPair(t)
	tr := p.Transport
	const claimers = 8
	chans := make(chan (<-chan stream.Event), claimers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range claimers {
		wg.Go(func() { <-start; chans <- tr.Events() })
	}
	close(start)
	wg.Wait()
	close(chans)
	ch := <-chans
	for other := range chans {
		if other != ch {
			t.Fatalf("concurrent Events calls returned different channels")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	select {
	case it := <-tr.Observable().Observe(rxgo.WithContext(ctx)):
		if !errors.Is(it.E, stream.ErrAlreadySubscribed) {
			t.Fatalf("Observable after Events: %+v, want ErrAlreadySubscribed", it)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Observable after Events: no item")
	}
	cancel()
	tr.Close()
	answerClose(t, p)
	evs := collect(t, ch)
	checkTrace(t, evs)
}
