package stream

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/reactivex/rxgo/v2"
)

// splitAll frames input in one piece with f's split function, the way
// bufio.Scanner calls it: the frames, then the error (nil for a clean
// end).
func splitAll(f Framer, input []byte) ([]string, error) {
	split := f.SplitFunc()
	var frames []string
	atEOF := false
	for {
		adv, tok, err := split(input, atEOF)
		if err == bufio.ErrFinalToken {
			if tok != nil {
				frames = append(frames, string(tok))
			}
			return frames, nil
		}
		if err != nil {
			return frames, err
		}
		if adv == 0 && tok == nil {
			if atEOF {
				return frames, nil
			}
			atEOF = true
			continue
		}
		if tok != nil {
			frames = append(frames, string(tok))
		}
		input = input[adv:]
	}
}

// cut cuts input into pieces whose sizes cycle through cuts (each 1 to
// 256 bytes); no cuts: one piece.
func cut(input, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{input}
	}
	var pieces [][]byte
	for i := 0; len(input) > 0; i++ {
		n := min(1+int(cuts[i%len(cuts)]), len(input))
		pieces = append(pieces, input[:n])
		input = input[n:]
	}
	return pieces
}

// chunkReader returns its pieces one Read at a time.
type chunkReader struct{ pieces [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.pieces[0])
	if r.pieces[0] = r.pieces[0][n:]; len(r.pieces[0]) == 0 {
		r.pieces = r.pieces[1:]
	}
	return n, nil
}

// sameErr reports whether two framing errors are of one kind.
func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	for _, kind := range []error{ErrFrameTooLarge, ErrTruncatedFrame} {
		if errors.Is(a, kind) != errors.Is(b, kind) {
			return false
		}
	}
	return true
}

// checkChunking frames input cut by cuts with Frames, and with a
// bufio.Scanner, and checks both against splitAll.
func checkChunking(t *testing.T, f Framer, input, cuts []byte) {
	t.Helper()
	wantFrames, wantErr := splitAll(f, input)

	evs := []Event{made()}
	for _, p := range cut(input, cuts) {
		evs = append(evs, Event{Kind: Data, Data: p})
	}
	evs = append(evs, Event{Kind: EOF}, lost(nil))
	got := collect(f.Frames(chanOf(evs...), nil))
	if len(got) < 2 || got[0].Kind != Made || got[len(got)-1].Kind != Lost {
		t.Fatalf("Frames gave %s; want Made first and Lost last", show(got))
	}
	var frames []string
	sawEOF := false
	for _, e := range got[1 : len(got)-1] {
		switch {
		case e.Kind == Data && !sawEOF:
			frames = append(frames, string(e.Data))
		case e.Kind == EOF && !sawEOF:
			sawEOF = true
		default:
			t.Fatalf("Frames gave %s: %v out of place", show(got), e)
		}
	}
	gotErr := got[len(got)-1].Err
	if !slices.Equal(frames, wantFrames) || !sameErr(gotErr, wantErr) {
		t.Fatalf("Frames over %d pieces: %q, %v; one split: %q, %v", len(evs)-3, frames, gotErr, wantFrames, wantErr)
	}
	if wantErr == nil && !sawEOF {
		t.Errorf("Frames dropped EOF: %s", show(got))
	}

	sc := bufio.NewScanner(&chunkReader{pieces: cut(input, cuts)})
	sc.Buffer(make([]byte, 0, 16), f.MaxBuffer())
	sc.Split(f.SplitFunc())
	frames = frames[:0]
	for sc.Scan() {
		frames = append(frames, sc.Text())
	}
	if !slices.Equal(frames, wantFrames) || !sameErr(sc.Err(), wantErr) {
		t.Fatalf("Scanner: %q, %v; one split: %q, %v", frames, sc.Err(), wantFrames, wantErr)
	}
}

func FuzzLines(f *testing.F) {
	f.Add([]byte("hello\nworld\r\n\n"), []byte{0, 3}, uint8(0))
	f.Add([]byte("a\r\r\nbb\ncc"), []byte{1}, uint8(2))
	f.Add([]byte("toolongline\nx\n"), []byte{2, 0, 5}, uint8(4))
	f.Fuzz(func(t *testing.T, input, cuts []byte, max uint8) {
		checkChunking(t, Lines(int(max)), input, cuts)
	})
}

func FuzzDelimited(f *testing.F) {
	f.Add([]byte("a;b;;c;"), []byte(";"), []byte{0}, uint8(0))
	f.Add([]byte("ab\r\n\r\ncd\r\n\r\ne"), []byte("\r\n\r\n"), []byte{2, 1}, uint8(3))
	f.Add([]byte("abababa"), []byte("aba"), []byte{0, 1}, uint8(2))
	f.Fuzz(func(t *testing.T, input, sep, cuts []byte, max uint8) {
		if len(sep) == 0 || len(sep) > 8 {
			t.Skip("separator of 1 to 8 bytes")
		}
		checkChunking(t, Delimited(sep, int(max)), input, cuts)
	})
}

func FuzzLengthPrefixed(f *testing.F) {
	f.Add([]byte("\x00\x03abc\x00\x00\x00\x01z"), uint8(2), false, []byte{0, 2}, uint8(0))
	f.Add([]byte("\x03\x00\x00\x00abc\x09\x00"), uint8(4), true, []byte{1}, uint8(5))
	f.Add([]byte("\x02hi\x01"), uint8(1), false, []byte{0}, uint8(8))
	f.Fuzz(func(t *testing.T, input []byte, width uint8, little bool, cuts []byte, max uint8) {
		w := []int{1, 2, 4, 8}[width%4]
		var order binary.ByteOrder = binary.BigEndian
		if little {
			order = binary.LittleEndian
		}
		checkChunking(t, LengthPrefixed(w, order, int(max)), input, cuts)
	})
}

// randomFraming returns a Framer and its frames' encoding: the frames,
// and for each the offset where its encoding ends.
func randomFraming(r *rand.Rand, kind int) (Framer, []string, []int, []byte) {
	var f Framer
	alphabet := "ab\r\n;x"
	switch kind {
	case 0:
		f = Lines(0)
	case 1:
		f = Delimited([]byte([]string{";", "\r\n", "aba"}[r.IntN(3)]), 0)
	default:
		f = LengthPrefixed([]int{1, 2, 4, 8}[r.IntN(4)], []binary.ByteOrder{binary.BigEndian, binary.LittleEndian}[r.IntN(2)], 0)
		alphabet = "\x00\x01\xffab"
	}
	var frames []string
	var ends []int
	var input []byte
	for range r.IntN(30) {
		for {
			b := make([]byte, r.IntN(12))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			enc, err := f.Append(input, b)
			if err != nil {
				continue // holds its delimiter: draw another
			}
			input = enc
			frames = append(frames, string(b))
			ends = append(ends, len(input))
			break
		}
	}
	return f, frames, ends, input
}

// TestFramesRandomChunking: random frames, encoded with Append and cut
// into random Data events among random pass-through events, come out of
// Frames and Observable as the same frames, in order, with each
// pass-through event after exactly the frames completed before it, and
// EOF and Lost kept.
func TestFramesRandomChunking(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for i := range 600 {
		f, frames, ends, input := randomFraming(r, i%3)
		in := []Event{made()}
		var want []Event
		want = append(want, made())
		done, next := 0, 0
		for len(input[done:]) > 0 {
			n := 1 + r.IntN(min(len(input[done:]), []int{3, 20, 200}[r.IntN(3)]))
			in = append(in, data(string(input[done:done+n])))
			done += n
			for ; next < len(ends) && ends[next] <= done; next++ {
				want = append(want, data(frames[next]))
			}
			if r.IntN(4) == 0 {
				pass := []Event{pause, resume, {Kind: Datagram, Data: []byte("d")}}[r.IntN(3)]
				in = append(in, pass)
				want = append(want, pass)
			}
		}
		if r.IntN(2) == 0 {
			in = append(in, Event{Kind: EOF})
			want = append(want, Event{Kind: EOF})
		}
		end := lost([]error{nil, errBoom}[r.IntN(2)])
		in = append(in, end)
		want = append(want, end)

		got := collect(f.Frames(chanOf(in...), nil))
		if show(got) != show(want) || got[len(got)-1].Err != end.Err {
			t.Fatalf("case %d: Frames gave\n%s\nwant\n%s", i, show(got), show(want))
		}
		ctx, cancel := context.WithCancel(context.Background())
		got = itemEvents(t, items(f.Observable(eventsObservable(in...), nil).Observe(rxgo.WithContext(ctx))))
		cancel()
		if show(got) != show(want) || got[len(got)-1].Err != end.Err {
			t.Fatalf("case %d: Observable gave\n%s\nwant\n%s", i, show(got), show(want))
		}
	}
}

// TestFramesRandomChunkingSmallMax runs the fuzz targets' check on
// random inputs with small maxima, so oversize and truncated frames come
// at random places: Frames and a bufio.Scanner agree with one split.
func TestFramesRandomChunkingSmallMax(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 900 {
		input := make([]byte, r.IntN(60))
		for j := range input {
			input[j] = "ab\r\n;\x00\x02"[r.IntN(7)]
		}
		cuts := make([]byte, r.IntN(4))
		for j := range cuts {
			cuts[j] = byte(r.IntN(9))
		}
		max := 1 + r.IntN(8)
		var f Framer
		switch i % 3 {
		case 0:
			f = Lines(max)
		case 1:
			f = Delimited([]byte([]string{";", "\r\n", "aba"}[r.IntN(3)]), max)
		default:
			f = LengthPrefixed([]int{1, 2}[r.IntN(2)], binary.LittleEndian, max)
		}
		checkChunking(t, f, input, cuts)
	}
}
