package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// hoRecv receives from ch, failing the test when ch is closed or nothing
// comes within failAfter.
func hoRecv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%T channel closed", v)
		}
		return v
	case <-time.After(failAfter):
		t.Fatalf("nothing on the %T channel within the guard", *new(T))
	}
	return *new(T)
}

// hoRead reads events until one of kind k (k == stream.Lost: until the
// channel closes, Lost included) and returns them all.
func hoRead(t testing.TB, ch <-chan stream.Event, k stream.Kind) []stream.Event {
	t.Helper()
	var evs []stream.Event
	timeout := time.After(failAfter)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return evs
			}
			if evs = append(evs, e); e.Kind == k && k != stream.Lost {
				return evs
			}
		case <-timeout:
			t.Fatalf("no %v on the detached stream within the guard; got %v", k, evs)
			return nil
		}
	}
}

// hoData concatenates the Data of evs.
func hoData(evs []stream.Event) []byte {
	var b []byte
	for _, e := range evs {
		if e.Kind == stream.Data {
			b = append(b, e.Data...)
		}
	}
	return b
}

// hoDetachAfter makes r detach its transport inside the DataReceived that
// brings the lines it received to count, and sends the Detached on the
// returned channel.
func hoDetachAfter(t testing.TB, r *recorder, count int) <-chan *adapters.Detached {
	ch := make(chan *adapters.Detached, 1)
	seen := 0
	r.onData = func(b []byte) { // callbacks run one at a time: no lock needed
		if seen < count {
			if seen += bytes.Count(b, []byte("\n")); seen >= count {
				d, err := adapters.Detach(r.transport(), nil)
				if err != nil {
					t.Errorf("Detach in DataReceived: %v", err)
				}
				ch <- d
			}
		}
	}
	return ch
}

// hoWrite writes b from the peer in chunks of random sizes (1 to max
// bytes) from a goroutine, then half-closes if eof; the returned channel
// delivers the first error or nil.
func hoWrite(peer *net.TCPConn, b []byte, rng *rand.Rand, maxChunk int, eof bool) <-chan error {
	var chunks [][]byte
	for len(b) > 0 {
		k := min(len(b), 1+rng.IntN(maxChunk))
		chunks, b = append(chunks, b[:k]), b[k:]
	}
	done := make(chan error, 1)
	go func() {
		peer.SetWriteDeadline(time.Now().Add(failAfter))
		var err error
		for _, c := range chunks {
			if _, err = peer.Write(c); err != nil {
				break
			}
		}
		if err == nil && eof {
			err = peer.CloseWrite()
		}
		done <- err
	}()
	return done
}

// hoRecords returns n newline-terminated numbered records of random
// lengths.
func hoRecords(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "%d:%s\n", i, strings.Repeat(string(rune('a'+i%26)), rng.IntN(300)))
	}
	return b.Bytes()
}

// hoShape returns the kinds of evs, separated by spaces.
func hoShape(evs []stream.Event) string {
	ks := make([]string, len(evs))
	for i, e := range evs {
		ks[i] = e.Kind.String()
	}
	return strings.Join(ks, " ")
}

// checkNoCallbacksAfterDetach checks that a detached protocol's trace
// holds ConnectionMade and DataReceived only: the stream took the rest.
func checkNoCallbacksAfterDetach(t testing.TB, tr []entry) {
	t.Helper()
	if len(tr) == 0 || tr[0].kind != cbMade || countKind(tr, cbData) != len(tr)-1 {
		t.Fatalf("detached protocol's trace %v: want CM then DR only", tr)
	}
}

// TestRD1_DetachNoEventLostOrRepeated is a property test of the handoff:
// a peer sends numbered records in random chunks and half-closes; the
// protocol detaches inside DataReceived at a random record boundary; a
// channel consumer reads a random number of events (sometimes none, not
// even claiming the stream; reads are small at random, so the channel is
// often full with the read goroutine waiting beside it) and hands the
// events back to a second protocol with Attach, unless it reached EOF.
// What the first protocol saw, then the stream, then the second
// protocol, is exactly what was sent: nothing lost, nothing repeated, in
// order, with the stream's Data owned (kept without copying) and the
// callbacks in order. A failure logs its seed.
func TestRD1_DetachNoEventLostOrRepeated(t *testing.T) {
	iterations := 150
	if testing.Short() {
		iterations = 30
	}
	for i := range iterations {
		seed := rand.Uint64()
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Logf("seed %d", seed)
			hoRoundTrip(t, rand.New(rand.NewPCG(seed, 0)))
		})
	}
}

// hoRoundTrip is one case of TestRD1_DetachNoEventLostOrRepeated.
func hoRoundTrip(t *testing.T, rng *rand.Rand) {
	n := 1 + rng.IntN(200)
	sent := hoRecords(rng, n)
	r1 := newRecorder()
	detached := hoDetachAfter(t, r1, 1+rng.IntN(n))
	readLimit := []int{0, 37, 256, 1500}[rng.IntN(4)] // small reads: many events, a full channel
	_, peer := serveOne(t, r1, transport.WithReadLimit(readLimit))
	wrote := hoWrite(peer, sent, rng, 1+rng.IntN(2000), true)

	d := hoRecv(t, detached)
	var streamEvs []stream.Event
	reads := rng.IntN(12) - 1 // -1: Attach without claiming the stream first
	if rng.IntN(4) == 0 {
		reads = rng.IntN(400) // deep into the stream, often to EOF
	}
	eof := false
	if reads >= 0 {
		ch := d.Events()
		if e := hoRecv(t, ch); e.Kind != stream.Made {
			t.Fatalf("the stream's first event is %v, want Made", e)
		}
		for range reads {
			e := hoRecv(t, ch)
			streamEvs = append(streamEvs, e)
			if e.Kind != stream.Data && e.Kind != stream.EOF {
				t.Fatalf("stream event %v, want Data or EOF", e)
			}
			if eof = e.Kind == stream.EOF; eof {
				break
			}
		}
		if eof {
			if d.Transport().IsClosing() {
				t.Fatalf("a detached transport closed itself at EOF")
			}
			d.Transport().Close()
			if rest := hoRead(t, ch, stream.Lost); hoShape(rest) != "Lost" || rest[0].Err != nil {
				t.Fatalf("after EOF and Close the stream had %v, want Lost(nil) only", rest)
			}
		}
	}
	var after []entry
	if !eof {
		r2 := newRecorder()
		if err := d.Attach(r2); err != nil {
			t.Fatalf("Attach: %v", err)
		}
		after = r2.waitLost(t)
		if checkTrace(append([]entry{{kind: cbMade}}, after...)) != nil || countKind(after, cbMade) != 0 ||
			countKind(after, cbEOF) != 1 || lostErr(after) != nil {
			t.Fatalf("the attached protocol's trace %v, want DR* ER CL(nil)", after)
		}
		if err := d.Attach(newRecorder()); !errors.Is(err, adapters.ErrNotDetachable) {
			t.Errorf("second Attach: %v, want ErrNotDetachable", err)
		}
	}
	if err := waitErr(t, wrote, "the peer's writes"); err != nil {
		t.Fatalf("peer: %v", err)
	}
	before := r1.snapshot()
	checkNoCallbacksAfterDetach(t, before)
	got := append(append(received(before), hoData(streamEvs)...), received(after)...)
	if !bytes.Equal(got, sent) {
		t.Fatalf("protocol %d bytes + stream %d + attached %d = %d, not the %d sent (or not in order)",
			len(received(before)), len(hoData(streamEvs)), len(received(after)), len(got), len(sent))
	}
}

// TestLC1_LC2_DetachedStreamMadeFirstLostLast detaches after a header and
// consumes the rest as an Observable: its first item is Made, exactly
// once; the body's Data, EOF, then (after the consumer closes at EOF)
// Lost(nil) last, exactly once, and the Observable completes.
func TestLC1_LC2_DetachedStreamMadeFirstLostLast(t *testing.T) {
	r := newRecorder()
	detached := hoDetachAfter(t, r, 1)
	_, peer := serveOne(t, r)
	body := bytes.Repeat([]byte("body "), 50000)
	wrote := hoWrite(peer, append([]byte("HEADER\n"), body...), rand.New(rand.NewPCG(1, 2)), 1<<16, true)
	d := hoRecv(t, detached)

	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	var evs []stream.Event
	for it := range d.Observable().Observe(rxgo.WithContext(ctx)) {
		if it.Error() {
			t.Fatalf("error item %v", it.E)
		}
		e := it.V.(stream.Event)
		evs = append(evs, e)
		if e.Kind == stream.EOF {
			d.Transport().Close()
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the Observable did not complete within the guard")
	}
	if err := waitErr(t, wrote, "the peer's writes"); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^Made (Data )+EOF Lost$`).MatchString(hoShape(evs)) {
		t.Fatalf("stream %v, want Made Data+ EOF Lost", evs)
	}
	if evs[len(evs)-1].Err != nil {
		t.Errorf("Lost(%v), want nil after a local Close", evs[len(evs)-1].Err)
	}
	if got := append(received(r.snapshot()), hoData(evs)...); !bytes.Equal(got, append([]byte("HEADER\n"), body...)) {
		t.Errorf("protocol and stream together saw %d bytes, want the %d sent", len(got), len(body)+7)
	}
	checkNoCallbacksAfterDetach(t, r.snapshot())
}

// TestRD4_DetachedEOFLeavesTransportHalfOpen checks that EOF on a detached
// stream does not close the transport: the consumer can still write a
// reply the peer reads, and the transport ends (Lost(nil) last, the
// channel closed) only when the consumer closes it; the peer then sees
// EOF after the reply. The protocol gets no EOFReceived.
func TestRD4_DetachedEOFLeavesTransportHalfOpen(t *testing.T) {
	r := newRecorder()
	detached := hoDetachAfter(t, r, 1)
	_, peer := serveOne(t, r)
	if err := waitErr(t, hoWrite(peer, []byte("HEADER\nbody"), rand.New(rand.NewPCG(3, 4)), 4, true), "the peer's writes"); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	ch := d.Events()
	evs := hoRead(t, ch, stream.EOF)
	tr := d.Transport()
	if tr.IsClosing() {
		t.Fatal("IsClosing after EOF on a detached stream: want the transport half-open")
	}
	if _, err := tr.Write([]byte("reply")); err != nil {
		t.Fatalf("Write after EOF: %v", err)
	}
	if got := readExactly(t, peer, 5); string(got) != "reply" {
		t.Fatalf("peer read %q, want reply", got)
	}
	res := readUntilEnd(peer, 64, nil)
	tr.Close()
	if rest := hoRead(t, ch, stream.Lost); hoShape(rest) != "Lost" || rest[0].Err != nil {
		t.Fatalf("after Close the stream had %v, want Lost(nil) only", rest)
	}
	if end := waitResult(t, res); len(end.data) != 0 || !errors.Is(end.err, io.EOF) {
		t.Errorf("peer then read %q, %v; want EOF", end.data, end.err)
	}
	if got := string(received(r.snapshot())) + string(hoData(evs)); got != "HEADER\nbody" {
		t.Errorf("protocol and stream saw %q, want HEADER\\nbody", got)
	}
	checkNoCallbacksAfterDetach(t, r.snapshot())
}

// TestCC1_DetachFromAnotherGoroutine detaches from the test goroutine
// while the peer streams records and the read goroutine delivers them:
// after Detach returns the protocol gets no more DataReceived, and the
// protocol's bytes then the stream's are exactly what was sent.
func TestCC1_DetachFromAnotherGoroutine(t *testing.T) {
	for i := range 20 {
		seed := rand.Uint64()
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 0))
			sent := hoRecords(rng, 500)
			cut := 1 + rng.IntN(len(sent)/4)
			r := newRecorder()
			tr, peer := connectOne(t, r)
			if err := waitErr(t, hoWrite(peer, sent[:cut], rng, cut, false), "the peer's first write"); err != nil {
				t.Fatal(err)
			}
			r.waitCount(t, cbData, 1)
			wrote := hoWrite(peer, sent[cut:], rng, 1+rng.IntN(4000), false) // races with Detach
			d, err := adapters.Detach(tr, nil)
			if err != nil {
				t.Fatalf("Detach: %v", err)
			}
			atDetach := len(r.snapshot())
			if _, err := adapters.Detach(tr, nil); !errors.Is(err, adapters.ErrNotDetachable) {
				t.Errorf("second Detach: %v, want ErrNotDetachable", err)
			}
			ch := d.Events()
			if err := waitErr(t, wrote, "the peer's writes"); err != nil {
				t.Fatal(err)
			}
			peer.CloseWrite()
			evs := hoRead(t, ch, stream.EOF)
			tr.Close()
			evs = append(evs, hoRead(t, ch, stream.Lost)...)
			if !regexp.MustCompile(`^Made (Data )*EOF Lost$`).MatchString(hoShape(evs)) {
				t.Fatalf("stream %v, want Made first and Lost last", evs)
			}
			before := r.snapshot()
			if len(before) != atDetach {
				t.Fatalf("protocol callbacks after Detach returned: %v", before[atDetach:])
			}
			checkNoCallbacksAfterDetach(t, before)
			if got := append(received(before), hoData(evs)...); !bytes.Equal(got, sent) {
				t.Fatalf("protocol %d + stream %d bytes, not the %d sent (or out of order)", len(received(before)), len(hoData(evs)), len(sent))
			}
		})
	}
}

// hoDetachInMade makes r detach in ConnectionMade; the transport's
// writes pause after a few KiB and the raw peer does not read yet.
func hoDetachInMade(t *testing.T) (*recorder, *adapters.Detached, *net.TCPConn) {
	t.Helper()
	r := newRecorder()
	detached := make(chan *adapters.Detached, 1)
	r.onMade = func(tr transport.Transport) {
		shrinkSendBuffer(t, tr)
		d, err := adapters.Detach(tr, nil)
		if err != nil {
			t.Errorf("Detach in ConnectionMade: %v", err)
		}
		detached <- d
	}
	_, peer := connectOne(t, r, smallLimits)
	return r, hoRecv(t, detached), peer
}

// TestWR4_DetachedStreamGetsFlowEvents checks that once detached, a pause
// and a resume caused by the stream consumer's writes go to the stream,
// in order after Made, and not to the protocol.
func TestWR4_DetachedStreamGetsFlowEvents(t *testing.T) {
	r, d, peer := hoDetachInMade(t)
	ch := d.Events()
	evs := []stream.Event{hoRecv(t, ch)}
	n, err := fillUntilPaused(d.Transport(), 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, hoRead(t, ch, stream.PauseWriting)...)
	res := readUntilEnd(peer, 64<<10, nil) // the peer reads: writing resumes
	evs = append(evs, hoRead(t, ch, stream.ResumeWriting)...)
	d.Transport().Close()
	if evs = append(evs, hoRead(t, ch, stream.Lost)...); hoShape(evs) != "Made PauseWriting ResumeWriting Lost" {
		t.Fatalf("stream %v, want Made PauseWriting ResumeWriting Lost", evs)
	}
	if got := waitResult(t, res); len(got.data) != n {
		t.Errorf("peer read %d bytes, want the %d written", len(got.data), n)
	}
	if tr := r.snapshot(); len(tr) != 1 {
		t.Errorf("the detached protocol's trace %v, want CM only", tr)
	}
}

// TestWR4_DetachedWhilePausedFlowAlternates detaches inside the
// PauseWriting callback: the stream's flow events must still alternate
// starting with PauseWriting (WR4), so a consumer that follows them knows
// the state; the peer's reads then resume writing.
func TestWR4_DetachedWhilePausedFlowAlternates(t *testing.T) {
	r := newRecorder()
	detached := make(chan *adapters.Detached, 1)
	r.onPause = func() {
		d, err := adapters.Detach(r.transport(), nil)
		if err != nil {
			t.Errorf("Detach in PauseWriting: %v", err)
		}
		detached <- d
	}
	tr, peer := connectOne(t, r, smallLimits)
	shrinkSendBuffer(t, tr)
	if _, err := fillUntilPaused(tr, 16<<10); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	ch := d.Events()
	res := readUntilEnd(peer, 64<<10, nil)
	evs := hoRead(t, ch, stream.ResumeWriting)
	tr.Close()
	evs = append(evs, hoRead(t, ch, stream.Lost)...)
	waitResult(t, res)
	if i := slices.IndexFunc(evs, func(e stream.Event) bool { return e.Kind != stream.Made }); evs[i].Kind != stream.PauseWriting {
		t.Fatalf("detached while paused, the stream had %v: its flow events must start with PauseWriting", evs)
	}
}

// TestWR4_AttachWhilePausedFlowAlternates pauses writing while detached
// (the stream gets PauseWriting) and attaches a new protocol while still
// paused: its PauseWriting and ResumeWriting must alternate starting with
// PauseWriting (WR4), as checkTrace requires of every protocol.
func TestWR4_AttachWhilePausedFlowAlternates(t *testing.T) {
	_, d, peer := hoDetachInMade(t)
	ch := d.Events()
	hoRecv(t, ch) // Made
	if _, err := fillUntilPaused(d.Transport(), 16<<10); err != nil {
		t.Fatal(err)
	}
	hoRead(t, ch, stream.PauseWriting)
	r2 := newRecorder()
	if err := d.Attach(r2); err != nil {
		t.Fatalf("Attach: %v", err)
	}
	res := readUntilEnd(peer, 64<<10, nil)
	r2.waitCount(t, cbResume, 1)
	d.Transport().Close()
	tr := r2.waitLost(t)
	waitResult(t, res)
	if err := checkTrace(append([]entry{{kind: cbMade}}, tr...)); err != nil {
		t.Fatalf("the attached protocol's callbacks: %v", err)
	}
}

// TestLC5_DetachedObservableCancelAborts subscribes to a detached stream
// and cancels the subscription's context before Lost: the transport is
// aborted (the peer's read ends), the Observable completes, the protocol
// gets no ConnectionLost, Attach is refused, and every goroutine ends.
func TestLC5_DetachedObservableCancelAborts(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) }) // after the other cleanups
	r := newRecorder()
	detached := hoDetachAfter(t, r, 1)
	_, peer := serveOne(t, r)
	if err := waitErr(t, hoWrite(peer, []byte("HEADER\nmore"), rand.New(rand.NewPCG(5, 6)), 3, false), "the peer's write"); err != nil {
		t.Fatal(err)
	}
	d := hoRecv(t, detached)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := d.Observable().Observe(rxgo.WithContext(ctx))
	first := hoRecv(t, items)
	if e, ok := first.V.(stream.Event); !ok || e.Kind != stream.Made {
		t.Fatalf("first item %+v, want Made", first)
	}
	if err := d.Attach(newRecorder()); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Attach after Observable: %v, want ErrNotDetachable", err)
	}
	res := readUntilEnd(peer, 64, nil)
	cancel()
	timeout := time.After(failAfter)
	for open := true; open; {
		select {
		case _, open = <-items:
		case <-timeout:
			t.Fatal("the Observable did not complete after its context was cancelled")
		}
	}
	if !d.Transport().IsClosing() {
		t.Error("the transport is not closing after the subscription's context was cancelled")
	}
	waitResult(t, res) // EOF or a reset: the connection ended
	if tr := r.snapshot(); countKind(tr, cbLost) != 0 || countKind(tr, cbEOF) != 0 {
		t.Errorf("the detached protocol got %v", tr)
	}
}

// TestLC5_DetachedAbortEndsGoroutines aborts a detached transport whose
// stream nobody reads, holding data, as DESIGN asks of a consumer that
// stops before Lost: every goroutine must end. The stream is either never
// claimed, or claimed and left full. Reads are 64 bytes (the read limit)
// and the peer's 647 bytes arrive at once, so the bytes left in the
// kernel show when the read goroutine is stuck.
func TestLC5_DetachedAbortEndsGoroutines(t *testing.T) {
	for _, claim := range []bool{false, true} {
		t.Run(fmt.Sprintf("claimed=%v", claim), func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, before) }) // after the other cleanups
			r := newRecorder()
			detached := hoDetachAfter(t, r, 1)
			_, peer := serveOne(t, r, transport.WithReadLimit(64))
			if _, err := peer.Write(append([]byte("HEADER\n"), make([]byte, 640)...)); err != nil {
				t.Fatal(err)
			}
			d := hoRecv(t, detached) // in the first read's DataReceived
			reads := 2               // that one, and the one waiting for the stream's Made
			if claim {
				ch := d.Events()
				hoRecv(t, ch) // Made
				hoRecv(t, ch) // a Data; then nothing more is read
				reads = 4     // that one, 1 in the channel, 1 waiting for room
			}
			waitQueued(t, socketOf(t, d.Transport()), 647-64*reads)
			res := readUntilEnd(peer, 64, nil)
			d.Transport().Abort()
			waitResult(t, res)
		})
	}
}

// TestER1_DetachRefused checks ErrNotDetachable where no Protocol drives
// the transport (unclaimed, a channel consumer, an Observable, a
// subprocess's pipe) and after ConnectionLost; the transports keep
// working afterwards.
func TestER1_DetachRefused(t *testing.T) {
	ln := rawListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	dialT := func() transport.Transport {
		tr, err := transport.Dial(ctx, "tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.Abort)
		acceptPeer(t, ln)
		return tr
	}
	unclaimed := dialT()
	if _, err := adapters.Detach(unclaimed, nil); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Detach of an unclaimed transport: %v, want ErrNotDetachable", err)
	}
	if e := hoRecv(t, unclaimed.Events()); e.Kind != stream.Made {
		t.Errorf("after the refused Detach, first event %v, want Made", e)
	}
	channel := dialT()
	ch := channel.Events()
	if _, err := adapters.Detach(channel, nil); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Detach of a channel consumer's transport: %v, want ErrNotDetachable", err)
	}
	if e := hoRecv(t, ch); e.Kind != stream.Made {
		t.Errorf("channel consumer's first event %v, want Made", e)
	}
	observed := dialT()
	items := observed.Observable().Observe(rxgo.WithContext(ctx))
	hoRecv(t, items) // Made: the Observable holds the claim
	if _, err := adapters.Detach(observed, nil); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Detach of an Observable's transport: %v, want ErrNotDetachable", err)
	}

	sp := runProcess(t, newSpRecorder(), childCmd(t, "linger"))
	pt, _ := sp.Stdout()
	if full, ok := pt.(transport.Transport); !ok {
		t.Errorf("the stdout pipe is a %T, not a Transport", pt)
	} else if _, err := adapters.Detach(full, nil); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Detach of a subprocess's pipe: %v, want ErrNotDetachable", err)
	}

	r := newRecorder()
	tr, _ := connectOne(t, r)
	tr.Close()
	r.waitLost(t)
	if _, err := adapters.Detach(tr, nil); !errors.Is(err, adapters.ErrNotDetachable) {
		t.Errorf("Detach after ConnectionLost: %v, want ErrNotDetachable", err)
	}
}
