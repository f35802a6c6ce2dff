package adapters_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/bufpool"
	"github.com/rxnet/rxnet/transport"
)

// poisoned reports whether p (not empty) was released in poison mode.
func poisoned(p []byte) bool {
	return len(p) > 0 && bytes.Count(p, []byte{bufpool.PoisonByte}) == len(p)
}

// TestRD5_ReaderReleasesConsumedEvent: over pooled events, a Reader
// releases an event once Read has copied all of its bytes out, and not
// before.
func TestRD5_ReaderReleasesConsumedEvent(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	tr, peer := dialRaw(t, 0, transport.WithPooledData())
	rd := adapters.NewReader(tr)
	if _, err := peer.Write([]byte("hello, pooled world")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := rd.Read(one); err != nil || one[0] != 'h' {
		t.Fatalf("Read: %q, %v", one, err)
	}
	rest := adapters.ReaderRest(rd)
	if len(rest) == 0 {
		t.Fatal("the first read held one byte only")
	}
	half := make([]byte, len(rest)-1)
	if _, err := io.ReadFull(rd, half); err != nil {
		t.Fatal(err)
	}
	if poisoned(rest) {
		t.Fatal("the event was released with a byte left to read")
	}
	if _, err := rd.Read(one); err != nil {
		t.Fatal(err)
	}
	if !poisoned(rest) {
		t.Fatal("the event was not released once all its bytes were read")
	}
}

// retainer is a writer that breaks io.Writer's contract on purpose: it
// keeps the slices it is given (and a copy of their bytes).
type retainer struct {
	kept   [][]byte
	copied []byte
}

func (w *retainer) Write(p []byte) (int, error) {
	w.kept = append(w.kept, p)
	w.copied = append(w.copied, p...)
	return len(p), nil
}

// TestRD5_ReaderWriteToHandsEventsOver: io.Copy from a Reader over
// pooled events writes each event's own buffer (no copy through a
// buffer of its own) and releases it once Write returns; it ends with
// nil at the peer's EOF, after writing what a Read left first.
func TestRD5_ReaderWriteToHandsEventsOver(t *testing.T) {
	defer bufpool.SetPoison(bufpool.SetPoison(true))
	tr, peer := dialRaw(t, 0, transport.WithPooledData())
	rd := adapters.NewReader(tr)
	want := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 5000)
			if _, err := peer.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		peer.CloseWrite()
	}()
	head := make([]byte, 3)
	if _, err := io.ReadFull(rd, head); err != nil {
		t.Fatal(err)
	}
	w := &retainer{}
	n, err := io.Copy(w, rd)
	if err != nil || n != int64(len(want)-3) {
		t.Fatalf("io.Copy: %d, %v; want %d, nil", n, err, len(want)-3)
	}
	if !bytes.Equal(append(head, w.copied...), want) {
		t.Fatal("io.Copy wrote other bytes than the peer's")
	}
	for i, p := range w.kept {
		if !poisoned(p) {
			t.Fatalf("write %d of %d (%d bytes): its buffer was not a released event's", i, len(w.kept), len(p))
		}
	}
	if n, err := rd.WriteTo(w); n != 0 || err != nil {
		t.Fatalf("WriteTo after the end: %d, %v; want 0, nil", n, err)
	}
}

// shortWriter takes at most max bytes per Write, with err.
type shortWriter struct {
	max int
	err error
}

func (w shortWriter) Write(p []byte) (int, error) { return min(len(p), w.max), w.err }

// TestRD5_ReaderWriteToErrors: WriteTo returns the writer's error (or
// io.ErrShortWrite for a short write without one) and keeps the bytes
// the writer did not take for the next Read; a Lost with an error ends
// it with that error.
func TestRD5_ReaderWriteToErrors(t *testing.T) {
	errWrite := errors.New("write failed")
	tr, peer := dialRaw(t, 0, transport.WithPooledData())
	rd := adapters.NewReader(tr)
	if _, err := peer.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	if n, err := rd.WriteTo(shortWriter{max: 1, err: errWrite}); n != 1 || err != errWrite {
		t.Fatalf("WriteTo a failing writer: %d, %v; want 1, %v", n, err, errWrite)
	}
	if n, err := rd.WriteTo(shortWriter{max: 2}); n != 2 || err != io.ErrShortWrite {
		t.Fatalf("WriteTo a short writer: %d, %v; want 2, io.ErrShortWrite", n, err)
	}
	rest := make([]byte, 3)
	if _, err := io.ReadFull(rd, rest); err != nil || string(rest) != "def" {
		t.Fatalf("Read after the failed WriteTo: %q, %v; want \"def\"", rest, err)
	}
	peer.SetLinger(0)
	peer.Close() // a reset: Lost carries its error
	if _, err := rd.WriteTo(io.Discard); err == nil || err == io.EOF {
		t.Fatalf("WriteTo after a reset: %v; want the reset", err)
	}
}
