package adapters_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// dialRaw dials a raw listener whose accepted sockets have a small
// receive buffer (rcvbuf, 0 for the default) and returns the transport
// (not yet consumed) and the accepted peer.
func dialRaw(t *testing.T, rcvbuf int, opts ...transport.Option) (transport.Transport, *net.TCPConn) {
	t.Helper()
	lc := net.ListenConfig{}
	if rcvbuf > 0 {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			return setSockBuf(c, syscall.SO_RCVBUF, rcvbuf)
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, err := transport.Dial(ctx, "tcp", ln.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Abort)
	return tr, acceptPeer(t, ln)
}

// watchEvents consumes tr's events in the background: it counts
// PauseWriting events, signals each on pauses (without blocking), and
// sends Lost's error on lost.
func watchEvents(tr transport.Transport) (pauses <-chan struct{}, count *atomic.Int32, lost <-chan error) {
	pw := make(chan struct{}, 1)
	lostCh := make(chan error, 1)
	n := new(atomic.Int32)
	events := tr.Events()
	go func() {
		for e := range events {
			switch e.Kind {
			case stream.PauseWriting:
				n.Add(1)
				select {
				case pw <- struct{}{}:
				default:
				}
			case stream.Lost:
				lostCh <- e.Err
			}
		}
	}()
	return pw, n, lostCh
}

// TestReader_BytesThenEOF: a Reader gives the peer's bytes in order, in
// whatever sizes the caller asks, then io.EOF at the peer's EOF, for good.
func TestReader_BytesThenEOF(t *testing.T) {
	tr, peer := dialRaw(t, 0)
	rd := adapters.NewReader(tr)
	want := bytes.Repeat([]byte("0123456789"), 10000)
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 7777)
			if _, err := peer.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		peer.CloseWrite()
	}()
	var got []byte
	buf := make([]byte, 333)
	for {
		n, err := rd.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if err != io.EOF {
				t.Fatalf("Read: %v, want io.EOF", err)
			}
			break
		}
		if n == 0 {
			t.Fatal("Read returned 0, nil")
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d sent", len(got), len(want))
	}
	if n, err := rd.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF: %d, %v; want 0, io.EOF", n, err)
	}
}

// TestDefect10_ReaderEmptyRead: Read with an empty p returns 0, nil at
// once, with nothing waiting to be read, and consumes nothing. It used to
// wait for the next event.
func TestDefect10_ReaderEmptyRead(t *testing.T) {
	tr, peer := dialRaw(t, 0)
	rd := adapters.NewReader(tr)
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := rd.Read(nil)
		done <- result{n, err}
	}()
	select {
	case r := <-done:
		if r.n != 0 || r.err != nil {
			t.Fatalf("Read(nil) = %d, %v; want 0, nil", r.n, r.err)
		}
	case <-time.After(failAfter):
		tr.Abort() // ends the Read
		<-done
		t.Fatal("Read(nil) waited for the next event")
	}
	if _, err := peer.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(rd, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("ReadFull after the empty Read: %q, %v", buf, err)
	}
	if n, err := rd.Read(buf[:0]); n != 0 || err != nil {
		t.Fatalf("Read(empty) with data consumed: %d, %v; want 0, nil", n, err)
	}
}

// TestReader_LostError: a connection lost with an error gives that error
// (here the peer's reset), after the bytes that came before it.
func TestReader_LostError(t *testing.T) {
	tr, peer := dialRaw(t, 0)
	rd := adapters.NewReader(tr)
	peer.Write([]byte("abc"))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(rd, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("ReadFull: %q, %v", buf, err)
	}
	resetPeer(t, peer)
	_, err := rd.Read(buf)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after the reset: %v, want ECONNRESET", err)
	}
	if _, err2 := rd.Read(buf); !errors.Is(err2, syscall.ECONNRESET) {
		t.Fatalf("second Read after the reset: %v, want the same error", err2)
	}
}

// TestReader_LocalCloseIsEOF: a Read waiting when the transport is closed
// locally returns io.EOF (a clean Lost).
func TestReader_LocalCloseIsEOF(t *testing.T) {
	tr, _ := dialRaw(t, 0)
	rd := adapters.NewReader(tr)
	res := make(chan error, 1)
	go func() {
		_, err := rd.Read(make([]byte, 10))
		res <- err
	}()
	tr.Close()
	if err := waitErr(t, res, "Read to return"); err != io.EOF {
		t.Fatalf("Read after Close: %v, want io.EOF", err)
	}
}

// patternReader yields a fixed byte pattern, up to n bytes. It has only
// Read, so io.Copy goes through its buffer and the Writer's Write.
type patternReader struct {
	off, n int
	before func() // called at every Read, between the Writer's Writes
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.before != nil {
		p.before()
	}
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(len(b), p.n-p.off)
	for i := range k {
		b[i] = byte((p.off + i) * 7 % 251)
	}
	p.off += k
	return k, nil
}

// TestWriter_BlocksWhilePaused: io.Copy of several MiB through a Writer
// into a transport whose peer reads slowly never lets the write buffer
// grow past the high-water mark plus one Write (the Writer waits out every
// pause, asyncio's write + drain), and every byte arrives in order.
func TestWriter_BlocksWhilePaused(t *testing.T) {
	const total, chunk = 8 << 20, 32 << 10
	tr, peer := dialRaw(t, 8192, transport.WithWriteBufferLimits(64<<10, 16<<10))
	shrinkSendBuffer(t, tr)
	high, _ := tr.WriteBufferLimits()
	_, pauses, lost := watchEvents(tr)

	var maxSize, overHigh atomic.Int64
	sample := func() {
		s := int64(tr.WriteBufferSize())
		for m := maxSize.Load(); s > m && !maxSize.CompareAndSwap(m, s); m = maxSize.Load() {
		}
	}
	reads := readUntilEnd(peer, 4096, func(int) {
		sample()
		runtime.Gosched() // a slow reader
	})
	src := &patternReader{n: total, before: func() {
		// Between two Writes the previous one has returned: not paused.
		if s := tr.WriteBufferSize(); s > high {
			overHigh.Store(int64(s))
		}
		sample()
	}}
	n, err := io.CopyBuffer(adapters.NewWriter(tr), src, make([]byte, chunk))
	if err != nil || n != total {
		t.Fatalf("io.Copy: %d, %v; want %d, nil", n, err, total)
	}
	tr.Close()
	res := waitResult(t, reads)
	if res.err != io.EOF {
		t.Fatalf("the peer's reads ended with %v", res.err)
	}
	want := sha256.New()
	io.Copy(want, &patternReader{n: total})
	if len(res.data) != total || sha(res.data) != string(want.Sum(nil)) {
		t.Fatalf("the peer got %d bytes, not the %d written in order", len(res.data), total)
	}
	if err := waitErr(t, lost, "Lost"); err != nil {
		t.Fatalf("Lost(%v), want nil", err)
	}
	if p := pauses.Load(); p == 0 {
		t.Fatal("the transport never paused: the test proved nothing")
	}
	if s := overHigh.Load(); s != 0 {
		t.Errorf("a Write returned with %d bytes buffered, over the high mark %d", s, high)
	}
	if m := maxSize.Load(); m > int64(high+chunk) {
		t.Errorf("the write buffer reached %d bytes, over high (%d) + one Write (%d)", m, high, chunk)
	}
	t.Logf("%d pauses, largest buffer %d", pauses.Load(), maxSize.Load())
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return string(s[:])
}

// pausedWriter starts a Writer over a transport whose peer does not read,
// writing in a loop on another goroutine until a Write fails; it returns
// once the transport has paused, and the channel that gets the failing
// Write's n and error.
func pausedWriter(t *testing.T, ctx context.Context) (transport.Transport, *net.TCPConn, <-chan writeResult, <-chan error) {
	t.Helper()
	tr, peer := dialRaw(t, 4096, smallLimits)
	shrinkSendBuffer(t, tr)
	pw, _, lost := watchEvents(tr)
	var w *adapters.Writer
	if ctx != nil {
		w = adapters.NewWriterContext(ctx, tr)
	} else {
		w = adapters.NewWriter(tr)
	}
	res := make(chan writeResult, 1)
	go func() {
		buf := make([]byte, 16<<10)
		for {
			if n, err := w.Write(buf); err != nil {
				res <- writeResult{n, err}
				return
			}
		}
	}()
	waitClosed(t, pw, "PauseWriting")
	return tr, peer, res, lost
}

type writeResult struct {
	n   int
	err error
}

func waitWrite(t *testing.T, ch <-chan writeResult) writeResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(failAfter):
		t.Fatal("timed out waiting for the Writer's Write to return")
		return writeResult{}
	}
}

// TestWriter_ErrorAfterAbort: a Write waiting out a pause returns an
// error matching net.ErrClosed once the transport is aborted, and so does
// every later Write, with n = 0.
func TestWriter_ErrorAfterAbort(t *testing.T) {
	tr, _, res, _ := pausedWriter(t, nil)
	tr.Abort()
	r := waitWrite(t, res)
	if !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("Write after Abort: %v, want net.ErrClosed", r.err)
	}
	w := adapters.NewWriter(tr)
	if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write on an aborted transport: %d, %v; want 0, net.ErrClosed", n, err)
	}
}

// TestWriter_ErrorWhenLost: a Write waiting out a pause returns the
// connection's own error when it is lost with one (here the peer's reset).
func TestWriter_ErrorWhenLost(t *testing.T) {
	_, peer, res, lost := pausedWriter(t, nil)
	resetPeer(t, peer)
	r := waitWrite(t, res)
	lostWith := waitErr(t, lost, "Lost")
	t.Logf("Lost(%v)", lostWith)
	if !errors.Is(r.err, syscall.ECONNRESET) && !errors.Is(r.err, syscall.EPIPE) {
		t.Fatalf("Write after the peer's reset: %v, want ECONNRESET or EPIPE", r.err)
	}
	if !errors.Is(r.err, net.ErrClosed) {
		t.Errorf("Write after the peer's reset: %v does not match net.ErrClosed", r.err)
	}
}

// TestWriterContext_ReturnsCtxErr: a Write waiting out a pause returns
// ctx.Err() once ctx ends; its bytes were taken (n = len(p)) and the
// transport stays open.
func TestWriterContext_ReturnsCtxErr(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr, _, res, _ := pausedWriter(t, ctx)
	cancel()
	r := waitWrite(t, res)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Write after cancel: %v, want context.Canceled", r.err)
	}
	if r.n != 16<<10 {
		t.Errorf("Write returned n = %d with ctx.Err(), want all %d (already buffered)", r.n, 16<<10)
	}
	if tr.IsClosing() {
		t.Error("cancelling the Writer's context closed the transport")
	}
}
