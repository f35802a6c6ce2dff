//go:build unix

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// osPipe returns a new pipe; both files are closed when the test ends (a
// transport that took one over has closed it already).
func osPipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// readPipe makes r a read pipe transport, aborted and read to the end
// when the test ends.
func readPipe(t *testing.T, r *os.File, opts ...transport.Option) transport.ReadTransport {
	t.Helper()
	tr, err := transport.ReadPipe(r, opts...)
	if err != nil {
		t.Fatalf("ReadPipe: %v", err)
	}
	t.Cleanup(func() { pipeEnd(t, tr) })
	return tr
}

// writePipe makes w a write pipe transport, aborted and read to the end
// when the test ends.
func writePipe(t *testing.T, w *os.File, opts ...transport.Option) transport.WriteTransport {
	t.Helper()
	tr, err := transport.WritePipe(w, opts...)
	if err != nil {
		t.Fatalf("WritePipe: %v", err)
	}
	t.Cleanup(func() { pipeEnd(t, tr) })
	return tr
}

func pipeEnd(t *testing.T, tr transport.BaseTransport) {
	tr.Abort()
	spCollect(t, tr.Events())
}

// expectEnd reads the remaining events, checks that Lost comes last with
// the wanted error (want nil: a clean end) and that there is exactly one,
// and returns them.
func expectEnd(t *testing.T, ch <-chan stream.Event, want error) []stream.Event {
	t.Helper()
	evs := spCollect(t, ch)
	lost := slices.IndexFunc(evs, isKind(stream.Lost))
	switch {
	case lost != len(evs)-1 || lost < 0:
		t.Fatalf("events %v: want exactly one Lost, last", evs)
	case want == nil && evs[lost].Err != nil:
		t.Fatalf("%v, want Lost(nil)", evs[lost])
	case want != nil && !errors.Is(evs[lost].Err, want):
		t.Fatalf("%v, want Lost(%v)", evs[lost], want)
	}
	return evs
}

// TestPI1_ER1_NotAPipe checks that ReadPipe and WritePipe refuse what is
// not a pipe, FIFO, socket or character device, and leave the file open.
func TestPI1_ER1_NotAPipe(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "regular"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for name, file := range map[string]*os.File{"RegularFile": f, "Directory": d} {
		if tr, err := transport.ReadPipe(file); !errors.Is(err, transport.ErrNotPipe) {
			if tr != nil {
				pipeEnd(t, tr)
			}
			t.Errorf("ReadPipe(%s) = %v, want ErrNotPipe", name, err)
		}
		if tr, err := transport.WritePipe(file); !errors.Is(err, transport.ErrNotPipe) {
			if tr != nil {
				pipeEnd(t, tr)
			}
			t.Errorf("WritePipe(%s) = %v, want ErrNotPipe", name, err)
		}
	}
	if _, err := f.WriteString("still open"); err != nil {
		t.Errorf("the refused file was closed: %v", err)
	}
	if _, err := transport.ReadPipe(nil); err == nil {
		t.Error("ReadPipe(nil) succeeded")
	}
	if _, err := transport.WritePipe(nil); err == nil {
		t.Error("WritePipe(nil) succeeded")
	}
	r, w := osPipe(t)
	if _, err := transport.ReadPipe(r, transport.WithWriteBufferLimits(1, 2)); err == nil {
		t.Error("ReadPipe with bad limits succeeded")
	}
	w.Close()
	if _, err := transport.WritePipe(w); err == nil {
		t.Error("WritePipe of a closed file succeeded")
	}
}

// TestPI1_FIFOAndSocket checks that a FIFO made with mkfifo and a socket
// work as pipes: what the write pipe writes, the read pipe reads, then
// EOF.
func TestPI1_FIFOAndSocket(t *testing.T) {
	t.Run("FIFO", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			r.Close()
			t.Fatal(err)
		}
		pipeRoundTrip(t, r, w)
	})
	t.Run("Socket", func(t *testing.T) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		pipeRoundTrip(t, os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w"))
	})
}

// TestPI1_CharDevice checks that a character device (/dev/null) works as
// a pipe: read, it gives Made, EOF, Lost(nil); written, it takes every
// byte until WriteEOF, then Lost(nil).
func TestPI1_CharDevice(t *testing.T) {
	rf, err := os.Open(os.DevNull)
	if err != nil {
		t.Skip(err)
	}
	rt := readPipe(t, rf)
	if evs := spCollect(t, rt.Events()); len(evs) != 3 || evs[0].Kind != stream.Made || evs[1].Kind != stream.EOF || evs[2].Kind != stream.Lost || evs[2].Err != nil {
		t.Errorf("read pipe on %s: %v, want Made, EOF, Lost(nil)", os.DevNull, evs)
	}
	wf, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	wt := writePipe(t, wf)
	ch := wt.Events()
	nextEvent(t, ch)
	for range 16 {
		if _, err := wt.Write(make([]byte, 64<<10)); err != nil {
			t.Fatalf("Write to %s: %v", os.DevNull, err)
		}
	}
	if err := wt.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF: %v", err)
	}
	expectEnd(t, ch, nil)
}

func pipeRoundTrip(t *testing.T, r, w *os.File) {
	t.Helper()
	rt := readPipe(t, r)
	wt := writePipe(t, w)
	wch := wt.Events()
	if e := nextEvent(t, wch); e.Kind != stream.Made {
		t.Fatalf("write pipe: first event %v, want Made", e)
	}
	if _, err := wt.Write([]byte("through")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	wt.WriteEOF()
	expectEnd(t, wch, nil)
	evs := spCollect(t, rt.Events())
	want := []stream.Kind{stream.Made, stream.Data, stream.EOF, stream.Lost}
	if len(evs) != len(want) || string(evs[1].Data) != "through" {
		t.Fatalf("read pipe events %v, want Made, Data(through), EOF, Lost", evs)
	}
	for i, e := range evs {
		if e.Kind != want[i] || e.Err != nil {
			t.Fatalf("read pipe events %v, want Made, Data(through), EOF, Lost(nil)", evs)
		}
	}
}

// TestPI2_ReadPipeClosesAtEOF checks that a read pipe delivers the data,
// EOF, and Lost(nil) at the writer's end, and is closed after it.
func TestPI2_ReadPipeClosesAtEOF(t *testing.T) {
	r, w := osPipe(t)
	rt := readPipe(t, r)
	ch := rt.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	w.WriteString("hello ")
	w.WriteString("world")
	w.Close()
	evs := expectEnd(t, ch, nil)
	var got []byte
	for i, e := range evs[:len(evs)-2] {
		if e.Kind != stream.Data {
			t.Fatalf("event %d is %v, want Data before EOF: %v", i, e, evs)
		}
		got = append(got, e.Data...)
	}
	if evs[len(evs)-2].Kind != stream.EOF || string(got) != "hello world" {
		t.Fatalf("events %v (data %q), want Data(hello world), EOF, Lost", evs, got)
	}
	if !rt.IsClosing() || rt.IsReading() {
		t.Errorf("after EOF: IsClosing %v, IsReading %v; want true, false", rt.IsClosing(), rt.IsReading())
	}
}

// TestPI4_ReadPipeAbort checks Abort on a read pipe: Lost(nil) and the
// pipe's read end closed (the writer gets EPIPE); Abort stays safe.
func TestPI4_ReadPipeAbort(t *testing.T) {
	r, w := osPipe(t)
	rt := readPipe(t, r)
	ch := rt.Events()
	nextEvent(t, ch)
	ab, ok := rt.(interface{ Abort() })
	if !ok {
		t.Fatalf("ReadPipe's transport %T has no Abort", rt)
	}
	ab.Abort()
	if !rt.IsClosing() {
		t.Error("IsClosing false after Abort")
	}
	expectEnd(t, ch, nil)
	ab.Abort()
	rt.Close()
	if _, err := w.WriteString("x"); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("writing to the aborted pipe: %v, want EPIPE (read end closed)", err)
	}
}

// TestPI7_ReadPipeRefusesWrites checks that a read pipe's transport
// refuses writes and WriteEOF, and cannot write EOF.
func TestPI7_ReadPipeRefusesWrites(t *testing.T) {
	r, _ := osPipe(t)
	rt := readPipe(t, r).(transport.Transport)
	if _, err := rt.Write([]byte("x")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Write on a read pipe = %v, want errors.ErrUnsupported", err)
	}
	if err := rt.WriteEOF(); err == nil {
		t.Error("WriteEOF on a read pipe succeeded")
	}
	if rt.CanWriteEOF() {
		t.Error("CanWriteEOF true on a read pipe")
	}
}

// TestPI6_WriteEOFIsClose checks WriteEOF on a write pipe: IsClosing at
// once, the buffered bytes all reach the reader, then EOF, then Lost(nil).
func TestPI6_WriteEOFIsClose(t *testing.T) {
	r, w := osPipe(t)
	wt := writePipe(t, w)
	ch := wt.Events()
	nextEvent(t, ch)
	data := patternAt(0, 1<<20)
	if _, err := wt.Write(data); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if wt.WriteBufferSize() == 0 {
		t.Fatal("1 MiB fit in the pipe: nothing buffered to flush")
	}
	if !wt.CanWriteEOF() {
		t.Error("CanWriteEOF false on a write pipe")
	}
	if err := wt.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF: %v", err)
	}
	if !wt.IsClosing() {
		t.Fatal("IsClosing false right after WriteEOF")
	}
	r.SetReadDeadline(time.Now().Add(waitTimeout))
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("reader got %d bytes, %v; want all %d then EOF", len(got), err, len(data))
	}
	expectEnd(t, ch, nil)
}

// TestPI7_WriteAfterCloseIsErrClosed checks that writes after WriteEOF or
// Close are refused with net.ErrClosed (not dropped silently).
func TestPI7_WriteAfterCloseIsErrClosed(t *testing.T) {
	for name, end := range map[string]func(transport.WriteTransport) error{
		"WriteEOF": transport.WriteTransport.WriteEOF,
		"Close":    transport.WriteTransport.Close,
	} {
		t.Run(name, func(t *testing.T) {
			r, w := osPipe(t)
			wt := writePipe(t, w)
			ch := wt.Events()
			nextEvent(t, ch)
			if err := end(wt); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if _, err := wt.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Write after %s = %v, want net.ErrClosed", name, err)
			}
			if _, err := wt.WriteBuffers([][]byte{[]byte("late")}); !errors.Is(err, net.ErrClosed) {
				t.Errorf("WriteBuffers after %s = %v, want net.ErrClosed", name, err)
			}
			if err := wt.WriteEOF(); err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("WriteEOF again = %v", err)
			}
			expectEnd(t, ch, nil)
			r.SetReadDeadline(time.Now().Add(waitTimeout))
			if got, err := io.ReadAll(r); err != nil || len(got) != 0 {
				t.Errorf("the reader got %q, %v; want nothing, then EOF", got, err)
			}
		})
	}
}

// TestPI8_ReaderGoneIdleIsLostNil checks that a write pipe whose reader
// closes while nothing is buffered ends with Lost(nil).
func TestPI8_ReaderGoneIdleIsLostNil(t *testing.T) {
	r, w := osPipe(t)
	wt := writePipe(t, w)
	ch := wt.Events()
	nextEvent(t, ch)
	wt.Write([]byte("x"))
	buf := make([]byte, 1)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
	expectEnd(t, ch, nil)
	if _, err := wt.Write([]byte("y")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after the reader left = %v, want net.ErrClosed", err)
	}
}

// TestPI8_ReaderGoneWithPendingIsEPIPE checks that a write pipe whose
// reader closes with 1 MiB still buffered ends with an EPIPE error, which
// Drain and Write report too.
func TestPI8_ReaderGoneWithPendingIsEPIPE(t *testing.T) {
	r, w := osPipe(t)
	wt := writePipe(t, w)
	ch := wt.Events()
	nextEvent(t, ch)
	wt.Write(make([]byte, 1<<20))
	if wt.WriteBufferSize() == 0 {
		t.Fatal("nothing buffered")
	}
	r.Close()
	expectEnd(t, ch, syscall.EPIPE)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := wt.Drain(ctx); !errors.Is(err, net.ErrClosed) || !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Drain after the broken pipe = %v, want net.ErrClosed holding EPIPE", err)
	}
	if _, err := wt.Write([]byte("y")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after the broken pipe = %v, want net.ErrClosed", err)
	}
	if n := wt.WriteBufferSize(); n != 0 {
		t.Errorf("WriteBufferSize %d after the broken pipe, want 0", n)
	}
}

// TestPI9_CloseThenAbortOneLost checks Abort after a Close that is still
// flushing: the buffer is dropped, exactly one Lost(nil), no panic, and
// both stay safe after Lost.
func TestPI9_CloseThenAbortOneLost(t *testing.T) {
	r, w := osPipe(t)
	wt := writePipe(t, w)
	ch := wt.Events()
	nextEvent(t, ch)
	wt.Write(make([]byte, 1<<20))
	wt.Close()
	if wt.WriteBufferSize() == 0 {
		t.Fatal("Close flushed 1 MiB into a pipe nobody reads")
	}
	wt.Abort()
	if n := wt.WriteBufferSize(); n != 0 {
		t.Errorf("WriteBufferSize %d after Abort, want 0", n)
	}
	expectEnd(t, ch, nil)
	wt.Abort()
	wt.Close()
	r.SetReadDeadline(time.Now().Add(waitTimeout))
	if got, err := io.ReadAll(r); err != nil || len(got) >= 1<<20 {
		t.Errorf("the reader got %d bytes, %v; want less than was written, then EOF", len(got), err)
	}
}

// TestWR4_F12_WritePipeResumesAtLow checks that a write pipe resumes as
// soon as its buffer comes down to low, not only when it is empty
// (asyncio F12's Go line): the reader drains just enough to bring the
// buffer between 0 and low, and ResumeWriting must come.
func TestWR4_F12_WritePipeResumesAtLow(t *testing.T) {
	const high, low, page = 64 << 10, 32 << 10, 4096
	r, w := osPipe(t)
	wt := writePipe(t, w, transport.WithWriteBufferLimits(high, low))
	ch := wt.Events()
	nextEvent(t, ch)
	// Whole pages, so that what the reader takes is what the pipe frees.
	chunk := make([]byte, page)
	for spWritable(wt) {
		if _, err := wt.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if e := nextEvent(t, ch); e.Kind != stream.PauseWriting {
		t.Fatalf("got %v, want PauseWriting", e)
	}
	buffered := wt.WriteBufferSize()
	target := low / 2 // the buffer once the pipe has taken what the reader frees
	if _, err := io.ReadFull(r, make([]byte, buffered-target)); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, ch); e.Kind != stream.ResumeWriting {
		t.Fatalf("got %v, want ResumeWriting", e)
	}
	if n := wt.WriteBufferSize(); n == 0 || n > low {
		t.Fatalf("WriteBufferSize %d at ResumeWriting, want in (0, %d]", n, low)
	}
	if !spWritable(wt) {
		t.Fatal("Writable not closed after ResumeWriting")
	}
}

// TestX5_PipeExtraInfo checks that ExtraInfo("pipe") is the file given,
// and that a pipe has no socket or addresses.
func TestX5_PipeExtraInfo(t *testing.T) {
	r, w := osPipe(t)
	rt := readPipe(t, r)
	wt := writePipe(t, w)
	for name, tc := range map[string]struct {
		tr transport.BaseTransport
		f  *os.File
	}{"ReadPipe": {rt, r}, "WritePipe": {wt, w}} {
		if v, ok := tc.tr.ExtraInfo(transport.InfoPipe); !ok || v != tc.f {
			t.Errorf(`%s: ExtraInfo("pipe") = %v, %v; want the file`, name, v, ok)
		}
		for _, key := range []string{transport.InfoSocket, transport.InfoPeername, transport.InfoSockname, transport.InfoSubprocess} {
			if v, ok := tc.tr.ExtraInfo(key); ok {
				t.Errorf("%s: ExtraInfo(%q) = %v, want none", name, key, v)
			}
		}
		// A pipe is no Transport, but its type has the socket accessors.
		if a, ok := tc.tr.(interface{ LocalAddr() net.Addr }); ok && a.LocalAddr() != nil {
			t.Errorf("%s: LocalAddr() = %v, want nil", name, a.LocalAddr())
		}
	}
}
