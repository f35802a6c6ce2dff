package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/internal/bufpool"
)

// withPoison turns bufpool's poison mode on for the test: a released
// buffer is filled with bufpool.PoisonByte and never reused.
func withPoison(t *testing.T) {
	t.Helper()
	was := bufpool.SetPoison(true)
	t.Cleanup(func() { bufpool.SetPoison(was) })
}

// poisoned reports whether p (not empty) was released in poison mode.
func poisoned(p []byte) bool {
	for _, c := range p {
		if c != bufpool.PoisonByte {
			return false
		}
	}
	return len(p) > 0
}

// within reports whether q lies in p's bytes (an empty q: starts inside).
func within(q, p []byte) bool {
	if len(p) == 0 {
		return false
	}
	qs := uintptr(unsafe.Pointer(unsafe.SliceData(q)))
	ps := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return qs >= ps && qs < ps+uintptr(len(p)) && qs+uintptr(len(q)) <= ps+uintptr(len(p))
}

// pooledPieces returns the pieces as pooled Data events.
func pooledPieces(pieces [][]byte) []Event {
	evs := make([]Event, len(pieces))
	for i, p := range pieces {
		evs[i] = PooledEvent(Data, p)
	}
	return evs
}

// checkPooled checks the frames got (Data events of a framed stream, not
// yet released) cut from the pooled inputs: each is pooled and holds its
// wanted bytes; an input buffer is held by at most one frame, and is
// released already when none holds it. Then it releases the frames in a
// random order, checking after each Release that the others are intact,
// and finally that every input was released.
func checkPooled(t *testing.T, r *rand.Rand, inputs []Event, got []Event, want []string) {
	t.Helper()
	var frames []Event
	for _, e := range got {
		if e.Kind == Data {
			frames = append(frames, e)
		}
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames; want %d", len(frames), len(want))
	}
	for i, f := range frames {
		if !f.Pooled() {
			t.Fatalf("frame %d (%q) is not pooled", i, f.Data)
		}
		if string(f.Data) != want[i] {
			t.Fatalf("frame %d is %q; want %q", i, f.Data, want[i])
		}
	}
	for i, in := range inputs {
		holders := 0
		for _, f := range frames {
			if within(f.Data, in.Data) {
				holders++
			}
		}
		switch {
		case holders > 1:
			t.Fatalf("input %d is held by %d frames", i, holders)
		case holders == 0 && !poisoned(in.Data):
			t.Fatalf("input %d (%q) is held by no frame but was not released", i, in.Data)
		case holders == 1 && poisoned(in.Data):
			t.Fatalf("input %d was released while a frame holds it", i)
		}
	}
	order := r.Perm(len(frames))
	for k, i := range order {
		frames[i].Release()
		frames[i].Release() // a second Release does nothing
		for _, j := range order[k+1:] {
			if string(frames[j].Data) != want[j] {
				t.Fatalf("releasing frame %d changed frame %d: %q; want %q", i, j, frames[j].Data, want[j])
			}
		}
	}
	for i, in := range inputs {
		if !poisoned(in.Data) {
			t.Fatalf("input %d (%q) never released", i, in.Data)
		}
	}
}

// pooledFramings returns the four framers, with an encoder of frames
// (Split's: words separated by spaces and newlines) and frames' alphabet.
func pooledFramings() []struct {
	name   string
	f      Framer
	encode func(dst []byte, frame string, r *rand.Rand) []byte
} {
	appender := func(f Framer) func([]byte, string, *rand.Rand) []byte {
		return func(dst []byte, frame string, _ *rand.Rand) []byte {
			out, err := f.Append(dst, []byte(frame))
			if err != nil {
				panic(err)
			}
			return out
		}
	}
	lines, delim, prefixed := Lines(0), Delimited([]byte("|#|"), 0), LengthPrefixed(4, binary.BigEndian, 0)
	return []struct {
		name   string
		f      Framer
		encode func(dst []byte, frame string, r *rand.Rand) []byte
	}{
		{"Lines", lines, appender(lines)},
		{"Delimited", delim, appender(delim)},
		{"LengthPrefixed", prefixed, appender(prefixed)},
		{"Split", Split(bufio.ScanWords, 0), func(dst []byte, frame string, r *rand.Rand) []byte {
			return append(append(dst, frame...), " \n"[r.IntN(2)])
		}},
	}
}

// randomFrames returns n frames of letters (none empty: ScanWords has no
// empty words), some long enough to span several reads.
func randomFrames(r *rand.Rand, n int) []string {
	frames := make([]string, n)
	for i := range frames {
		size := 1 + r.IntN([]int{8, 100, 3000}[r.IntN(3)])
		b := make([]byte, size)
		for j := range b {
			b[j] = byte('a' + r.IntN(26))
		}
		frames[i] = string(b)
	}
	return frames
}

// TestRD5_FramersPooledRandomChunking: over pooled Data events cut at
// random (one byte to many frames per event), the four framers, as
// Frames and as Observable, give the frames in pooled buffers of their
// own, hold each input buffer in at most one frame, release every input
// no frame holds, and nothing a frame holds changes when another frame
// is released.
func TestRD5_FramersPooledRandomChunking(t *testing.T) {
	withPoison(t)
	r := rand.New(rand.NewPCG(5, 14))
	for _, fr := range pooledFramings() {
		t.Run(fr.name, func(t *testing.T) {
			for i := range 40 {
				want := randomFrames(r, 1+r.IntN(30))
				var input []byte
				for _, f := range want {
					input = fr.encode(input, f, r)
				}
				var pieces [][]byte
				for rest := input; len(rest) > 0; {
					n := 1 + r.IntN(min(len(rest), []int{3, 50, 700, 9000}[r.IntN(4)]))
					pieces = append(pieces, rest[:n])
					rest = rest[n:]
				}
				for _, rx := range []bool{false, true} {
					inputs := pooledPieces(pieces)
					evs := append(append([]Event{made()}, inputs...), Event{Kind: EOF}, lost(nil))
					var got []Event
					if rx {
						ctx, cancel := context.WithCancel(context.Background())
						got = itemEvents(t, items(fr.f.Observable(eventsObservable(evs...), nil).Observe(rxgo.WithContext(ctx))))
						cancel()
					} else {
						got = collect(fr.f.Frames(chanOf(evs...), nil))
					}
					if last := got[len(got)-1]; last.Kind != Lost || last.Err != nil {
						t.Fatalf("case %d (rx %v): ended with %v", i, rx, last)
					}
					checkPooled(t, r, inputs, got, want)
				}
			}
		})
	}
}

// TestRD5_FramesOneFramePerReadCopiesNothing: when each pooled read
// holds one whole frame, every frame is its read's own buffer; a frame
// across reads and the last frame of a read holding several take over
// a buffer too.
func TestRD5_FramesOneFramePerReadCopiesNothing(t *testing.T) {
	withPoison(t)
	inputs := pooledPieces([][]byte{[]byte("one\n"), []byte("two\n"), []byte("thr"), []byte("ee\nfour\nfi"), []byte("ve\n")})
	got := collect(Lines(0).Frames(chanOf(inputs...), nil))
	want := []string{"one", "two", "three", "four", "five"}
	holds := []int{0, 1, -1, 3, -1} // "three" and "five" take over the pending bytes' buffer
	for i, f := range got {
		if string(f.Data) != want[i] {
			t.Fatalf("frame %d is %q; want %q", i, f.Data, want[i])
		}
		if holds[i] >= 0 && !within(f.Data, inputs[holds[i]].Data) {
			t.Errorf("frame %q was copied; want it in its read's buffer", f.Data)
		}
	}
	checkPooled(t, rand.New(rand.NewPCG(1, 2)), inputs, got, want)
}

// TestRD5_FramesReleaseDropped: after an oversize frame the framer
// releases every event it drops, and on a consumer that is gone
// (FramesContext, Observable's context) every event it does not deliver.
func TestRD5_FramesReleaseDropped(t *testing.T) {
	withPoison(t)
	t.Run("oversize", func(t *testing.T) {
		inputs := pooledPieces([][]byte{[]byte("ab\ncd"), []byte("toolonglinehere\n"), []byte("x\n"), []byte("y\n")})
		got := collect(Lines(8).Frames(chanOf(append(inputs, lost(nil))...), nil))
		if last := got[len(got)-1]; !errors.Is(last.Err, ErrFrameTooLarge) {
			t.Fatalf("ended with %v; want ErrFrameTooLarge", last)
		}
		checkPooled(t, rand.New(rand.NewPCG(1, 3)), inputs, got, []string{"ab"})
	})
	t.Run("context", func(t *testing.T) {
		inputs := pooledPieces([][]byte{[]byte("a\n"), []byte("b\nc"), []byte("d\n"), []byte("e\n"), []byte("f\n")})
		in := make(chan Event)
		ctx, cancel := context.WithCancel(context.Background())
		out := Lines(0).FramesContext(ctx, in, nil)
		go func() {
			for _, e := range inputs {
				in <- e
			}
			close(in)
		}()
		first := <-out
		cancel()
		got := append([]Event{first}, collect(out)...)
		var want []string
		for _, f := range got {
			want = append(want, string(f.Data))
		}
		if want[0] != "a" {
			t.Fatalf("first frame %q; want \"a\"", want[0])
		}
		checkPooled(t, rand.New(rand.NewPCG(1, 4)), inputs, got, want)
	})
	t.Run("observable context", func(t *testing.T) {
		inputs := pooledPieces([][]byte{[]byte("a\n"), []byte("b\nc"), []byte("d\n"), []byte("e\n"), []byte("f\n")})
		src := rxgo.Defer([]rxgo.Producer{func(ctx context.Context, next chan<- rxgo.Item) {
			for _, e := range inputs {
				if !rxgo.Of(e).SendContext(ctx, next) {
					e.Release() // what a transport's Observable drops
				}
			}
		}})
		ctx, cancel := context.WithCancel(context.Background())
		up := Lines(0).Observable(src, nil).Observe(rxgo.WithContext(ctx))
		first := (<-up).V.(Event)
		cancel()
		got := append([]Event{first}, itemEvents(t, items(up))...)
		var want []string
		for _, f := range got {
			want = append(want, string(f.Data))
		}
		checkPooled(t, rand.New(rand.NewPCG(1, 5)), inputs, got, want)
	})
}

// TestRD5_FramesPooledMixedAndPassThrough: a plain Data event within a
// pooled stream is framed into pooled frames too; pooled Datagram and
// PipeData events pass through untouched, still the consumer's to
// release.
func TestRD5_FramesPooledMixedAndPassThrough(t *testing.T) {
	withPoison(t)
	dg := PooledEvent(Datagram, []byte("dgram"))
	evs := []Event{made(), data("pl"), PooledEvent(Data, []byte("ain\npo")), data("oled\nx"), dg, PooledEvent(Data, []byte("y\n")), lost(nil)}
	got := collect(Lines(0).Frames(chanOf(evs...), nil))
	if s := show(got); s != `Made "plain" "pooled" Datagram(5) "xy" Lost` {
		t.Fatalf("got %s", s)
	}
	for _, e := range got {
		if e.Kind == Data && !e.Pooled() {
			t.Errorf("frame %q is not pooled", e.Data)
		}
	}
	if !got[3].Pooled() || string(got[3].Data) != "dgram" {
		t.Fatalf("the Datagram changed: %v pooled %v", got[3], got[3].Pooled())
	}
	for _, e := range got {
		e.Release()
	}
	for _, i := range []int{2, 4, 5} {
		if !poisoned(evs[i].Data) {
			t.Errorf("input %d (%q) was not released", i, evs[i].Data)
		}
	}
}

// TestRD5_FramesPooledSteadyStateNoAlloc: framing pooled lines whose
// frames the consumer releases allocates nothing per frame once the
// pool is warm (the events themselves come from the pool too).
func TestRD5_FramesPooledSteadyStateNoAlloc(t *testing.T) {
	was := bufpool.SetPoison(false)
	defer bufpool.SetPoison(was)
	read := []byte(strings.Repeat("a line of text\n", 30) + "a line cut acr")
	rest := []byte("oss reads\n")
	in := make(chan Event, 16)
	out := Lines(0).Frames(in, nil)
	run := func(reads int) int {
		frames := 0
		go func() {
			for range reads {
				in <- PooledEvent(Data, read)
				in <- PooledEvent(Data, rest)
			}
			in <- Event{Kind: EOF}
		}()
		for e := range out {
			if e.Kind == EOF {
				return frames
			}
			frames++
			e.Release()
		}
		return frames
	}
	run(200) // warm the pool
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	frames := run(1000)
	runtime.ReadMemStats(&after)
	close(in)
	for range out {
	}
	if frames != 1000*31 {
		t.Fatalf("%d frames; want %d", frames, 1000*31)
	}
	if per := float64(after.Mallocs-before.Mallocs) / float64(frames); per > 0.05 {
		t.Fatalf("%.3f heap allocations per frame; want none in steady state", per)
	}
}

// BenchmarkFramesPooledLines frames pooled reads of 30 lines each (the
// consumer releases every frame): its allocs/op is per read.
func BenchmarkFramesPooledLines(b *testing.B) {
	read := []byte(strings.Repeat("a line of text, about sixty bytes long, give or take some\n", 30))
	in := make(chan Event, 16)
	out := Lines(0).Frames(in, nil)
	go func() {
		for range b.N {
			in <- PooledEvent(Data, read)
		}
		close(in)
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(read)))
	for e := range out {
		e.Release()
	}
}
