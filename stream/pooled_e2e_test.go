package stream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// writeSizes are the sizes of the peer's writes, in turn: around each
// pool class and across the largest.
var writeSizes = []int{1, 7, 100, 511, 512, 513, 4095, 4097, 16383, 16385, 65536, 100000}

// pooledConn returns a loopback TCP transport made with WithPooledData,
// not yet consumed, and its peer, which writes input in writeSizes and
// then closes its side for writing.
func pooledConn(t *testing.T, input []byte) transport.Transport {
	t.Helper()
	ctx := context.Background()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0", transport.WithPooledData())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := conn.(*net.TCPConn)
	t.Cleanup(func() { peer.Close() })
	tr, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Abort)
	go func() {
		for i, rest := 0, input; len(rest) > 0; i++ {
			n := min(writeSizes[i%len(writeSizes)], len(rest))
			if _, err := peer.Write(rest[:n]); err != nil {
				return // the test failed and aborted the transport
			}
			rest = rest[n:]
		}
		peer.CloseWrite()
	}()
	return tr
}

// letters returns n bytes of a pattern of letters (never PoisonByte).
func letters(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return b
}

// patternFrames returns frames of many sizes, up to 70,000 bytes, and
// their encoding for f (Split: words, each followed by a space).
func patternFrames(r *rand.Rand, f stream.Framer, split bool) ([][]byte, []byte) {
	var frames [][]byte
	var input []byte
	for i := range 120 {
		frame := letters(r, 1+r.IntN([]int{10, 600, 5000, 70000}[i%4]))
		frames = append(frames, frame)
		if split {
			input = append(append(input, frame...), ' ')
			continue
		}
		var err error
		if input, err = f.Append(input, frame); err != nil {
			panic(err)
		}
	}
	return frames, input
}

// TestRD5_PoisonedPooledStreams: with poison mode on, over a real
// loopback TCP transport made with WithPooledData, the four framers,
// Payloads and adapters.NewReader (Read and io.Copy through WriteTo)
// give every byte the peer wrote, in writes of many sizes, while each
// consumer follows the rule (Data used before its Release; a payload
// before the next receive): nothing they use was released under them.
// A frame is held while the next two come, so that releasing one must
// not touch the others.
func TestRD5_PoisonedPooledStreams(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	const max = 128 << 10
	framers := []struct {
		name  string
		f     stream.Framer
		split bool
	}{
		{"Lines", stream.Lines(max), false},
		{"Delimited", stream.Delimited([]byte("\r\n--\r\n"), max), false},
		{"LengthPrefixed", stream.LengthPrefixed(4, binary.LittleEndian, max), false},
		{"Split", stream.Split(bufio.ScanWords, max), true},
	}
	for i, fr := range framers {
		t.Run(fr.name, func(t *testing.T) {
			frames, input := patternFrames(rand.New(rand.NewPCG(uint64(i), 1)), fr.f, fr.split)
			tr := pooledConn(t, input)
			var window []stream.Frame // frames held, oldest first
			n := 0
			for e := range fr.f.Frames(tr.Events(), tr.Abort) {
				switch e.Kind {
				case stream.Data:
					if !e.Pooled() {
						t.Fatalf("frame %d is not pooled", n)
					}
					window = append(window, e)
					n++
					if len(window) == 3 {
						checkFrame(t, n-3, window[0].Data, frames)
						window[0].Release()
						window = window[1:]
					}
				case stream.Lost:
					if e.Err != nil {
						t.Fatalf("Lost(%v)", e.Err)
					}
				}
			}
			for k, w := range window {
				checkFrame(t, n-len(window)+k, w.Data, frames)
				w.Release()
			}
			if n != len(frames) {
				t.Fatalf("%d frames; want %d", n, len(frames))
			}
		})
	}
	t.Run("Payloads", func(t *testing.T) {
		f := stream.Lines(max)
		frames, input := patternFrames(rand.New(rand.NewPCG(9, 1)), f, false)
		tr := pooledConn(t, input)
		out, end := stream.Payloads(f.Frames(tr.Events(), tr.Abort))
		n := 0
		for p := range out {
			checkFrame(t, n, p, frames)
			n++
		}
		if err := end(); err != nil || n != len(frames) {
			t.Fatalf("%d payloads, %v; want %d, nil", n, err, len(frames))
		}
	})
	want := letters(rand.New(rand.NewPCG(10, 1)), 1<<20)
	t.Run("Reader", func(t *testing.T) {
		rd := adapters.NewReader(pooledConn(t, want))
		got := make([]byte, 0, len(want))
		for k := 0; ; k++ {
			buf := make([]byte, writeSizes[k%len(writeSizes)]+3)
			n, err := rd.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
		}
	})
	t.Run("ReaderWriteTo", func(t *testing.T) {
		rd := adapters.NewReader(pooledConn(t, want))
		head := make([]byte, 1000) // a Read first: WriteTo writes the rest of its event first
		if _, err := io.ReadFull(rd, head); err != nil || !bytes.Equal(head, want[:1000]) {
			t.Fatalf("ReadFull: %v", err)
		}
		v := &verifier{want: want, off: 1000}
		n, err := io.Copy(v, rd)
		if err != nil || n != int64(len(want)-1000) || v.off != len(want) {
			t.Fatalf("io.Copy: %d, %v (checked to %d); want %d, nil", n, err, v.off, len(want)-1000)
		}
	})
}

// checkFrame checks frame n against the frames the peer wrote.
func checkFrame(t *testing.T, n int, got []byte, frames [][]byte) {
	t.Helper()
	if n >= len(frames) || !bytes.Equal(got, frames[n]) {
		t.Fatalf("frame %d (%d bytes) is not the one written (poisoned: %v)", n, len(got), bytes.IndexByte(got, bufpool.PoisonByte) >= 0)
	}
}

// verifier is a writer that checks what it is given against want.
type verifier struct {
	want []byte
	off  int
}

func (v *verifier) Write(p []byte) (int, error) {
	if !bytes.Equal(p, v.want[v.off:min(v.off+len(p), len(v.want))]) {
		return 0, fmt.Errorf("bytes %d to %d are not the ones written", v.off, v.off+len(p))
	}
	v.off += len(p)
	return len(p), nil
}

// TestRD5_PoisonCatchesUseAfterRelease: the poison mode catches a
// consumer that breaks the rule: a frame's Data read after its Release
// holds bufpool.PoisonByte, not the bytes the peer wrote.
func TestRD5_PoisonCatchesUseAfterRelease(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	tr := pooledConn(t, []byte("first line\nsecond line\n"))
	var frames []stream.Frame
	for e := range stream.Lines(0).Frames(tr.Events(), tr.Abort) {
		if e.Kind == stream.Data {
			frames = append(frames, e)
		}
	}
	if len(frames) != 2 || string(frames[0].Data) != "first line" {
		t.Fatalf("frames %v", frames)
	}
	for _, f := range frames {
		f.Release()
		// The wrong consumer: it reads Data after the Release.
		if !bytes.Equal(f.Data, bytes.Repeat([]byte{bufpool.PoisonByte}, len(f.Data))) {
			t.Fatalf("a frame read after its Release holds %q; want PoisonByte", f.Data)
		}
	}
}
