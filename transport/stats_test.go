package transport_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// statsPause is how long the pause tests hold a pause they have seen
// begin, so that its measured duration has a lower bound. It is not a
// wait for an event: every event is waited on.
const statsPause = 20 * time.Millisecond

// statsDial dials srv with a transport and aborts it when the test ends.
func statsDial(t *testing.T, addr string, opts ...transport.Option) transport.Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := transport.Dial(ctx, "tcp", addr, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(tr.Abort)
	return tr
}

// statsRawPeer returns a plain listener's address and a channel that
// yields the connection it accepts (closed when the test ends).
func statsRawPeer(t *testing.T) (string, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
		close(ch)
	}()
	return ln.Addr().String(), ch
}

// statsPeer waits for the connection statsRawPeer accepts.
func statsPeer(t *testing.T, ch <-chan net.Conn) net.Conn {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("the raw listener accepted nothing")
		}
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(waitTimeout):
		t.Fatal("timed out accepting")
		return nil
	}
}

// statsWritable reports whether w is not paused.
func statsWritable(w transport.WriteTransport) bool { return spWritable(w) }

// TestStatsAdd checks Stats.Add: every counter and duration is summed,
// PeakWriteBuffer is the larger of the two, and the zero Stats is the
// identity.
func TestStatsAdd(t *testing.T) {
	a := transport.Stats{BytesRead: 1, BytesWritten: 2, Events: 3, WritePauses: 4,
		WritePausedFor: 5, ReadPauses: 6, ReadPausedFor: 7, PeakWriteBuffer: 80}
	b := transport.Stats{BytesRead: 10, BytesWritten: 20, Events: 30, WritePauses: 40,
		WritePausedFor: 50, ReadPauses: 60, ReadPausedFor: 70, PeakWriteBuffer: 8}
	want := transport.Stats{BytesRead: 11, BytesWritten: 22, Events: 33, WritePauses: 44,
		WritePausedFor: 55, ReadPauses: 66, ReadPausedFor: 77, PeakWriteBuffer: 80}
	if got := a.Add(b); got != want {
		t.Errorf("a.Add(b) = %+v, want %+v", got, want)
	}
	if got := b.Add(a); got != want {
		t.Errorf("b.Add(a) = %+v, want %+v", got, want)
	}
	if got := a.Add(transport.Stats{}); got != a {
		t.Errorf("a.Add(zero) = %+v, want %+v", got, a)
	}
}

// TestStatsTCPEchoExact runs an echo of random-sized writes over TCP
// between two transports and checks, once both have delivered Lost, that
// each side's BytesRead and BytesWritten are exactly the bytes sent, and
// that Events equals the number of events its channel delivered (Made to
// Lost, flow events included).
func TestStatsTCPEchoExact(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	var payload []byte
	for len(payload) < 600<<10 {
		payload = append(payload, bytes.Repeat([]byte{byte(rng.IntN(256))}, 1+rng.IntN(40<<10))...)
	}

	srv := listen(t, "tcp")
	client := statsDial(t, srv.Addr().String())
	server := accept(t, srv)

	type result struct {
		evs  []stream.Event
		data []byte
	}
	serverDone := make(chan result, 1)
	go func() { // echo until the transport closes itself after EOF
		var res result
		for e := range server.Events() {
			res.evs = append(res.evs, e)
			if e.Kind == stream.Data {
				res.data = append(res.data, e.Data...)
				server.Write(e.Data)
			}
		}
		serverDone <- res
	}()
	clientDone := make(chan result, 1)
	go func() {
		var res result
		for e := range client.Events() {
			res.evs = append(res.evs, e)
			if e.Kind == stream.Data {
				res.data = append(res.data, e.Data...)
			}
		}
		clientDone <- res
	}()
	for rest := payload; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(64<<10))
		if _, err := client.Write(rest[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		rest = rest[n:]
	}
	if err := client.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF: %v", err)
	}

	for _, side := range []struct {
		name string
		tr   transport.Transport
		done chan result
	}{{"server", server, serverDone}, {"client", client, clientDone}} {
		var res result
		select {
		case res = <-side.done:
		case <-time.After(waitTimeout):
			t.Fatalf("%s: the events did not end", side.name)
		}
		if last := res.evs[len(res.evs)-1]; last.Kind != stream.Lost || last.Err != nil {
			t.Fatalf("%s: last event %v, want Lost(nil)", side.name, last)
		}
		if !bytes.Equal(res.data, payload) {
			t.Fatalf("%s: read %d bytes, not the %d sent", side.name, len(res.data), len(payload))
		}
		st := side.tr.Stats()
		if st.BytesRead != int64(len(payload)) || st.BytesWritten != int64(len(payload)) {
			t.Errorf("%s: BytesRead %d, BytesWritten %d, want %d each", side.name, st.BytesRead, st.BytesWritten, len(payload))
		}
		if st.Events != int64(len(res.evs)) {
			t.Errorf("%s: Stats().Events = %d, but its channel delivered %d events", side.name, st.Events, len(res.evs))
		}
		if st.PeakWriteBuffer < 0 || st.PeakWriteBuffer > len(payload) {
			t.Errorf("%s: PeakWriteBuffer %d out of [0, %d]", side.name, st.PeakWriteBuffer, len(payload))
		}
	}
}

// TestStatsWritePauses fills a transport's write buffer against a peer
// that does not read: after the PauseWriting event WritePauses is 1 and
// WritePausedFor grows; once the peer reads and ResumeWriting arrives, the
// pause lasted at least as long as the test held it and at most the whole
// test, and its clock stopped. PeakWriteBuffer is over the high-water mark
// and at least every WriteBufferSize seen; the channel's event count is
// Stats().Events.
func TestStatsWritePauses(t *testing.T) {
	const high, low = 8 << 10, 2 << 10
	addr, peers := statsRawPeer(t)
	start := time.Now()
	tr := statsDial(t, addr, transport.WithWriteBufferLimits(high, low), transport.WithSendBuffer(4096))
	peer := statsPeer(t, peers)
	ch := tr.Events()
	evs := []stream.Event{nextEvent(t, ch)}

	seen, total := 0, 0
	chunk := make([]byte, 16<<10)
	for statsWritable(tr) {
		if _, err := tr.Write(chunk); err != nil {
			t.Fatalf("Write after %d bytes: %v", total, err)
		}
		total += len(chunk)
		seen = max(seen, tr.WriteBufferSize())
		if total > 256<<20 {
			t.Fatal("wrote 256 MiB without a pause")
		}
	}
	evs = append(evs, spUntil(t, ch, "PauseWriting", isKind(stream.PauseWriting))...)
	paused := tr.Stats()
	if paused.WritePauses != 1 || paused.WritePausedFor <= 0 {
		t.Fatalf("paused: WritePauses %d, WritePausedFor %v; want 1 and > 0", paused.WritePauses, paused.WritePausedFor)
	}
	if paused.PeakWriteBuffer <= high || paused.PeakWriteBuffer < seen || paused.PeakWriteBuffer > total {
		t.Errorf("PeakWriteBuffer %d: want over %d, at least the %d seen, at most the %d written", paused.PeakWriteBuffer, high, seen, total)
	}
	time.Sleep(statsPause) // the pause is observed: let it last
	if again := tr.Stats(); again.WritePausedFor < paused.WritePausedFor+statsPause {
		t.Errorf("WritePausedFor %v after %v more of the pause, was %v: the running pause is not counted", again.WritePausedFor, statsPause, paused.WritePausedFor)
	}

	go io.Copy(io.Discard, peer) // the peer reads: the buffer drains
	evs = append(evs, spUntil(t, ch, "ResumeWriting", isKind(stream.ResumeWriting))...)
	elapsed := time.Since(start)
	resumed := tr.Stats()
	if resumed.WritePauses != 1 {
		t.Errorf("WritePauses %d after one pause, want 1", resumed.WritePauses)
	}
	if resumed.WritePausedFor < statsPause || resumed.WritePausedFor > elapsed {
		t.Errorf("WritePausedFor %v, want between the %v held and the %v elapsed", resumed.WritePausedFor, statsPause, elapsed)
	}
	time.Sleep(statsPause / 2) // measure: the clock must have stopped at the resume
	if later := tr.Stats(); later.WritePausedFor != resumed.WritePausedFor {
		t.Errorf("WritePausedFor went from %v to %v while not paused", resumed.WritePausedFor, later.WritePausedFor)
	}

	if err := tr.Close(); err != nil { // the buffer is empty now: nothing to drop
		t.Fatalf("Close: %v", err)
	}
	evs = append(evs, spCollect(t, ch)...)
	end := tr.Stats()
	if end.Events != int64(len(evs)) {
		t.Errorf("Stats().Events = %d, but the channel delivered %d events: %v", end.Events, len(evs), evs)
	}
	if end.BytesWritten != int64(total) {
		t.Errorf("BytesWritten %d, want the %d written and flushed", end.BytesWritten, total)
	}
}

// TestStatsReadPauses checks ReadPauses and ReadPausedFor: only the
// PauseReading calls that paused count (RD3: they are idempotent), the
// running pause is counted, a pause lasts at least as long as it was
// held, its clock stops at ResumeReading, and a pause still running at
// Close stops counting when the transport ends.
func TestStatsReadPauses(t *testing.T) {
	srv := listen(t, "tcp")
	tr := statsDial(t, srv.Addr().String())
	accept(t, srv)
	ch := tr.Events()
	nextEvent(t, ch) // Made

	tr.PauseReading()
	tr.PauseReading() // already paused: not counted
	first := tr.Stats()
	if first.ReadPauses != 1 || first.ReadPausedFor <= 0 {
		t.Fatalf("paused: ReadPauses %d, ReadPausedFor %v; want 1 and > 0", first.ReadPauses, first.ReadPausedFor)
	}
	time.Sleep(statsPause)
	tr.ResumeReading()
	resumed := tr.Stats()
	if resumed.ReadPausedFor < statsPause {
		t.Errorf("ReadPausedFor %v after a pause of %v", resumed.ReadPausedFor, statsPause)
	}
	tr.ResumeReading() // not paused: nothing changes
	time.Sleep(statsPause / 2)
	if later := tr.Stats(); later.ReadPausedFor != resumed.ReadPausedFor || later.ReadPauses != 1 {
		t.Errorf("not paused, yet ReadPauses %d → %d, ReadPausedFor %v → %v", resumed.ReadPauses, later.ReadPauses, resumed.ReadPausedFor, later.ReadPausedFor)
	}

	tr.PauseReading()
	if st := tr.Stats(); st.ReadPauses != 2 {
		t.Errorf("ReadPauses %d after a second pause, want 2", st.ReadPauses)
	}
	tr.Close() // paused at the end: the clock stops
	spCollect(t, ch)
	ended := tr.Stats()
	tr.PauseReading() // a no-op on a closed transport
	time.Sleep(statsPause / 2)
	if later := tr.Stats(); later != ended {
		t.Errorf("after Lost the stats changed from %+v to %+v", ended, later)
	}
	if ended.ReadPauses != 2 {
		t.Errorf("ReadPauses %d, want 2", ended.ReadPauses)
	}
}

// TestStatsFlowEventsCountedAsDelivered flaps write flow control (by
// changing the limits around a write buffer that cannot drain) while the
// channel consumer does not read, so that pauses and resumes wait beside
// the full channel and cancel out. Once the consumer reads to Lost,
// Stats().Events must equal the events it received: Events counts events
// delivered, not flow changes.
func TestStatsFlowEventsCountedAsDelivered(t *testing.T) {
	addr, peers := statsRawPeer(t)
	tr := statsDial(t, addr, transport.WithEventBuffer(2), transport.WithSendBuffer(4096))
	peer := statsPeer(t, peers)
	ch := tr.Events()
	evs := []stream.Event{nextEvent(t, ch)} // Made; then the consumer stops reading

	if _, err := tr.Write(make([]byte, 4<<20)); err != nil { // far more than the kernel holds
		t.Fatal(err)
	}
	if statsWritable(tr) {
		t.Fatal("4 MiB buffered with the default limits, yet not paused")
	}
	for i := range 7 { // resume, pause, resume, ...: each one a flow change
		var err error
		if i%2 == 0 {
			err = tr.SetWriteBufferLimits(64<<20, 16<<20)
		} else {
			err = tr.SetWriteBufferLimits(1024, 256)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if peer, ok := peer.(*net.TCPConn); ok {
		peer.SetLinger(0) // a reset: the transport fails and keeps its queued events
	}
	peer.Close()
	evs = append(evs, spCollect(t, ch)...)
	if last := evs[len(evs)-1]; last.Kind != stream.Lost {
		t.Fatalf("last event %v, want Lost", last)
	}
	if st := tr.Stats(); st.Events != int64(len(evs)) {
		t.Errorf("Stats().Events = %d, but the channel delivered %d events: %v", st.Events, len(evs), evs)
	}
}

// TestStatsMadeCountedWhenClosedUnread claims a transport's events and
// closes it while Made still waits in the channel: the consumer then
// receives Made and Lost, and Stats().Events must count both.
func TestStatsMadeCountedWhenClosedUnread(t *testing.T) {
	srv := listen(t, "tcp")
	tr := statsDial(t, srv.Addr().String())
	accept(t, srv)
	ch := tr.Events()
	waitUntil(t, "Made in the channel", func() bool { return len(ch) == 1 })
	tr.Close()
	evs := spCollect(t, ch)
	if len(evs) != 2 || evs[0].Kind != stream.Made || evs[1].Kind != stream.Lost {
		t.Fatalf("events %v, want Made Lost", evs)
	}
	if st := tr.Stats(); st.Events != 2 {
		t.Errorf("Stats().Events = %d, but the channel delivered %v", st.Events, evs)
	}
}

// TestStatsDatagramExact exchanges datagrams of random sizes (empty ones
// included) between two endpoints and checks, after both delivered Lost,
// that BytesRead and BytesWritten count the payloads exactly and Events
// the events each channel delivered.
func TestStatsDatagramExact(t *testing.T) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("seed %d", seed)
	ctx := context.Background()
	a, err := transport.ListenPacket(ctx, "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("ListenPacket: %v", err)
	}
	t.Cleanup(a.Abort)
	aAddr, _ := a.ExtraInfo(transport.InfoSockname)
	b, err := transport.DialPacket(ctx, "udp", aAddr.(net.Addr).String())
	if err != nil {
		t.Fatalf("DialPacket: %v", err)
	}
	t.Cleanup(b.Abort)

	const n = 40
	sizes, sum := make([]int, n), 0
	for i := range sizes {
		if i%7 != 0 {
			sizes[i] = rng.IntN(1200)
		}
		sum += sizes[i]
	}
	aCh, bCh := a.Events(), b.Events()
	aEvs := []stream.Event{nextEvent(t, aCh)}
	bEvs := []stream.Event{nextEvent(t, bCh)}
	for i, size := range sizes { // one at a time: loopback drops nothing
		if err := b.SendTo(bytes.Repeat([]byte{byte(i)}, size), nil); err != nil {
			t.Fatalf("SendTo: %v", err)
		}
		e := nextEvent(t, aCh)
		aEvs = append(aEvs, e)
		if e.Kind != stream.Datagram || len(e.Data) != size {
			t.Fatalf("datagram %d: got %v, want %d bytes", i, e, size)
		}
		if err := a.SendTo(e.Data, e.Addr); err != nil {
			t.Fatalf("echo SendTo: %v", err)
		}
		e = nextEvent(t, bCh)
		bEvs = append(bEvs, e)
		if e.Kind != stream.Datagram || len(e.Data) != size {
			t.Fatalf("echo %d: got %v, want %d bytes", i, e, size)
		}
	}
	a.Close()
	b.Close()
	aEvs = append(aEvs, spCollect(t, aCh)...)
	bEvs = append(bEvs, spCollect(t, bCh)...)
	for _, side := range []struct {
		name string
		tr   transport.DatagramTransport
		evs  []stream.Event
	}{{"listener", a, aEvs}, {"dialer", b, bEvs}} {
		st := side.tr.Stats()
		if st.BytesRead != int64(sum) || st.BytesWritten != int64(sum) {
			t.Errorf("%s: BytesRead %d, BytesWritten %d, want %d each", side.name, st.BytesRead, st.BytesWritten, sum)
		}
		if st.Events != int64(len(side.evs)) {
			t.Errorf("%s: Stats().Events = %d, but the channel delivered %d: %v", side.name, st.Events, len(side.evs), side.evs)
		}
	}
}

// TestStatsSubprocessAndPipes checks Stats of a subprocess transport (its
// stdin's bytes written, its stdout's bytes read, its own events) and of
// a read and a write pipe transport.
func TestStatsSubprocessAndPipes(t *testing.T) {
	t.Run("subprocess", func(t *testing.T) {
		msg := bytes.Repeat([]byte("subprocess stats\n"), 3000)
		sp := spExec(t, childCmd(t, "echo"))
		ch := sp.Events()
		evs := []stream.Event{nextEvent(t, ch)}
		stdin := stdinOf(t, sp)
		if _, err := stdin.Write(msg); err != nil {
			t.Fatalf("Write: %v", err)
		}
		stdin.Close() // the child's EOF: it echoes and exits
		evs = append(evs, spCollect(t, ch)...)
		if err := spCheckTrace(evs, 0, 1, 2); err != nil {
			t.Fatal(err)
		}
		if out := spOutput(evs, 1); !bytes.Equal(out, msg) {
			t.Fatalf("stdout has %d bytes, want the %d written", len(out), len(msg))
		}
		st := sp.Stats()
		if st.BytesWritten != int64(len(msg)) || st.BytesRead != int64(len(msg)) {
			t.Errorf("BytesWritten %d, BytesRead %d, want %d each", st.BytesWritten, st.BytesRead, len(msg))
		}
		if st.Events != int64(len(evs)) {
			t.Errorf("Stats().Events = %d, but the channel delivered %d: %v", st.Events, len(evs), evs)
		}
	})
	t.Run("pipes", func(t *testing.T) {
		r, w := osPipe(t)
		rt, wt := readPipe(t, r), writePipe(t, w)
		msg := bytes.Repeat([]byte("pipe stats "), 20000)
		wch, rch := wt.Events(), rt.Events()
		var wg sync.WaitGroup
		var revs []stream.Event
		wg.Go(func() {
			for e := range rch {
				revs = append(revs, e)
			}
		})
		wevs := []stream.Event{nextEvent(t, wch)}
		if _, err := wt.Write(msg); err != nil { // more than the pipe holds: a pause
			t.Fatalf("Write: %v", err)
		}
		// Close only once the pause is over: a flow event still waiting
		// for its turn at a local Close may be dropped.
		wevs = append(wevs, spUntil(t, wch, "ResumeWriting", isKind(stream.ResumeWriting))...)
		wt.Close() // flushes first
		wevs = append(wevs, spCollect(t, wch)...)
		wg.Wait()
		var got []byte
		for _, e := range revs {
			got = append(got, e.Data...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("read %d bytes, want %d", len(got), len(msg))
		}
		if st := wt.Stats(); st.BytesWritten != int64(len(msg)) || st.BytesRead != 0 || st.Events != int64(len(wevs)) {
			t.Errorf("write pipe: %+v; want BytesWritten %d, BytesRead 0, Events %d", st, len(msg), len(wevs))
		}
		if st := rt.Stats(); st.BytesRead != int64(len(msg)) || st.BytesWritten != 0 || st.Events != int64(len(revs)) {
			t.Errorf("read pipe: %+v; want BytesRead %d, BytesWritten 0, Events %d", st, len(msg), len(revs))
		}
	})
}

// TestCC1_StatsConcurrent calls Stats from several goroutines while an
// echo runs, writes pause and resume, and reading is paused and resumed
// from yet another goroutine (run it with -race). Each goroutine's
// snapshots never go down (the counters only grow), and the byte counts
// are exact once the client has delivered Lost.
func TestCC1_StatsConcurrent(t *testing.T) {
	const total = 2 << 20
	srv := listen(t, "tcp")
	client := statsDial(t, srv.Addr().String(), transport.WithWriteBufferLimits(8<<10, 2<<10), transport.WithSendBuffer(4096))
	server := accept(t, srv)
	go func() {
		for e := range server.Events() {
			if e.Kind == stream.Data {
				server.Write(e.Data)
			}
		}
	}()
	received, clientEnd := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(clientEnd)
		n := 0
		for e := range client.Events() {
			if n += len(e.Data); n == total && e.Kind == stream.Data {
				close(received)
			}
		}
	}()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			last := map[transport.Transport]transport.Stats{}
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, tr := range []transport.Transport{client, server} {
					st, prev := tr.Stats(), last[tr]
					if st.BytesRead < prev.BytesRead || st.BytesWritten < prev.BytesWritten ||
						st.Events < prev.Events || st.WritePauses < prev.WritePauses ||
						st.WritePausedFor < prev.WritePausedFor || st.ReadPauses < prev.ReadPauses ||
						st.ReadPausedFor < prev.ReadPausedFor || st.PeakWriteBuffer < prev.PeakWriteBuffer {
						t.Errorf("stats went down: %+v then %+v", prev, st)
						return
					}
					last[tr] = st
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			client.PauseReading()
			client.ResumeReading()
		}
	})

	chunk := make([]byte, 32<<10)
	for sent := 0; sent < total; sent += len(chunk) {
		if _, err := client.Write(chunk); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		err := client.Drain(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Drain: %v", err)
		}
	}
	select {
	case <-received:
	case <-time.After(waitTimeout):
		t.Fatal("the echo did not come back")
	}
	close(stop)
	wg.Wait()
	client.Close() // flushes (there is nothing left), then Lost
	select {
	case <-clientEnd:
	case <-time.After(waitTimeout):
		t.Fatal("the client's events did not end after Close")
	}
	st := client.Stats()
	if st.BytesWritten != total || st.BytesRead != total {
		t.Errorf("client BytesWritten %d, BytesRead %d, want %d each", st.BytesWritten, st.BytesRead, total)
	}
	if st.ReadPauses == 0 || st.WritePauses == 0 {
		t.Errorf("ReadPauses %d, WritePauses %d: want both > 0", st.ReadPauses, st.WritePauses)
	}
}
