//go:build unix

package sock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// conn is what the tests need from either end of a pair.
type conn interface {
	net.Conn
	syscall.Conn
	CloseWrite() error
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// pair returns the two ends of a real connection on network ("tcp" on
// 127.0.0.1 or "unix" in a temporary directory).
func pair(t *testing.T, network string) (a, b conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "sock")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("%s not available here: %v", network, err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()
	d, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var s net.Conn
	select {
	case s = <-accepted:
	case err := <-acceptErr:
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); s.Close() })
	return d.(conn), s.(conn)
}

// run runs f as a subtest for each network.
func run(t *testing.T, f func(t *testing.T, network string)) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) { f(t, network) })
	}
}

func never() bool { return false }

func newFD(t *testing.T, c syscall.Conn, stop func() bool) *FD {
	t.Helper()
	f, err := New(c, stop)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReadReturnsData(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		if _, err := b.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		buf, n, err := f.Read(MaxRead)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if buf == nil || n < 1 || n > 5 {
			t.Fatalf("Read = %v, %d; want a buffer and 1..5 bytes", buf, n)
		}
		got := string(buf.Bytes()[:n])
		buf.Put()
		for len(got) < 5 {
			buf, n, err := f.Read(MaxRead)
			if err != nil || n == 0 {
				t.Fatalf("Read = %d, %v after %q", n, err, got)
			}
			got += string(buf.Bytes()[:n])
			buf.Put()
		}
		if got != "hello" {
			t.Errorf("read %q; want %q", got, "hello")
		}
	})
}

func TestReadWaitsForData(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		type result struct {
			data string
			err  error
		}
		done := make(chan result, 1)
		go func() {
			buf, n, err := f.Read(MaxRead)
			r := result{err: err}
			if buf != nil {
				r.data = string(buf.Bytes()[:n])
				buf.Put()
			}
			done <- r
		}()
		if _, err := b.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.err != nil || r.data != "x" {
			t.Errorf("Read = %q, %v; want %q, nil", r.data, r.err, "x")
		}
	})
}

func TestReadAtMostSize(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		if _, err := b.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for len(got) < 10 {
			buf, n, err := f.Read(3)
			if err != nil || n == 0 {
				t.Fatalf("Read(3) = %d, %v", n, err)
			}
			if n > 3 {
				t.Fatalf("Read(3) read %d bytes", n)
			}
			got = append(got, buf.Bytes()[:n]...)
			buf.Put()
		}
		if string(got) != "0123456789" {
			t.Errorf("read %q", got)
		}
	})
}

func TestReadEOF(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		if _, err := b.Write([]byte("bye")); err != nil {
			t.Fatal(err)
		}
		if err := b.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		var got []byte
		for {
			buf, n, err := f.Read(MaxRead)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n == 0 {
				if buf != nil {
					t.Error("Read returned a buffer with n == 0")
				}
				break
			}
			got = append(got, buf.Bytes()[:n]...)
			buf.Put()
		}
		if string(got) != "bye" {
			t.Errorf("read %q before EOF; want %q", got, "bye")
		}
		// EOF is sticky.
		if buf, n, err := f.Read(MaxRead); buf != nil || n != 0 || err != nil {
			t.Errorf("Read after EOF = %v, %d, %v; want nil, 0, nil", buf, n, err)
		}
	})
}

func TestReadStopped(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		var stop atomic.Bool
		stop.Store(true)
		f := newFD(t, a, stop.Load)
		if _, err := b.Write([]byte("kept")); err != nil {
			t.Fatal(err)
		}
		// Stopped with data waiting, and stopped with nothing to read:
		// neither reads nor waits.
		for range 2 {
			buf, n, err := f.Read(MaxRead)
			if !errors.Is(err, ErrStopped) || buf != nil || n != 0 {
				t.Fatalf("Read while stopped = %v, %d, %v; want nil, 0, ErrStopped", buf, n, err)
			}
		}
		stop.Store(false)
		var got []byte
		for len(got) < 4 {
			buf, n, err := f.Read(MaxRead)
			if err != nil || n == 0 {
				t.Fatalf("Read = %d, %v", n, err)
			}
			got = append(got, buf.Bytes()[:n]...)
			buf.Put()
		}
		if string(got) != "kept" {
			t.Errorf("read %q after the stop; want %q (a stopped Read must not consume)", got, "kept")
		}
	})
}

func TestReadStoppedWhileWaiting(t *testing.T) {
	// stop is asked again before every read attempt, also after a wait:
	// data arriving after stop turned true is not read.
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		var stop atomic.Bool
		calls := make(chan struct{}, 16)
		f := newFD(t, a, func() bool {
			select {
			case calls <- struct{}{}:
			default:
			}
			return stop.Load()
		})
		done := make(chan error, 1)
		go func() {
			buf, _, err := f.Read(MaxRead)
			if buf != nil {
				buf.Put()
			}
			done <- err
		}()
		<-calls
		waitIOWait(t) // the first attempt found nothing and waits
		stop.Store(true)
		if _, err := b.Write([]byte("late")); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrStopped) {
			t.Errorf("Read = %v; want ErrStopped", err)
		}
	})
}

// waitIOWait waits until a goroutine is parked in the poller inside
// FD.Read. It polls the goroutine dump: the runtime offers no other sign.
func waitIOWait(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		dump := string(buf[:runtime.Stack(buf, true)])
		for _, g := range strings.Split(dump, "\n\n") {
			if strings.Contains(g, "[IO wait") && strings.Contains(g, "sock.(*FD).Read(") {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatal("no goroutine waits in FD.Read")
}

func TestReadReset(t *testing.T) {
	a, b := pair(t, "tcp")
	f := newFD(t, a, never)
	if err := b.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	b.Close() // RST
	_, n, err := f.Read(MaxRead)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("Read after a reset = %d, %v; want ECONNRESET", n, err)
	}
}

func TestReadAfterClose(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, _ := pair(t, network)
		f := newFD(t, a, never)
		a.Close()
		if buf, _, err := f.Read(MaxRead); !errors.Is(err, net.ErrClosed) || buf != nil {
			t.Errorf("Read after Close = %v, %v; want nil, net.ErrClosed", buf, err)
		}
		if _, err := f.TryWrite([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("TryWrite after Close = %v; want net.ErrClosed", err)
		}
		if _, err := f.Writev([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Writev after Close = %v; want net.ErrClosed", err)
		}
	})
}

// fill writes to f with TryWrite until the kernel takes less than asked,
// and returns what it wrote. Nothing reads the other end meanwhile.
func fill(t *testing.T, f *FD, c conn) []byte {
	t.Helper()
	c.SetWriteBuffer(4096)
	var sent []byte
	chunk := 64 << 10
	for i := 0; ; i++ {
		p := pattern(chunk, len(sent))
		n, err := f.TryWrite(p)
		if err != nil {
			t.Fatalf("TryWrite: %v", err)
		}
		if n < 0 || n > len(p) {
			t.Fatalf("TryWrite = %d for %d bytes", n, len(p))
		}
		sent = append(sent, p[:n]...)
		if n < len(p) {
			return sent
		}
		if len(sent) > 256<<20 {
			t.Fatal("the socket took 256 MiB without filling up")
		}
	}
}

func pattern(n, seed int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte((i + seed) % 251)
	}
	return p
}

// readAll reads n bytes from c into a []byte, in the background.
func readAll(c net.Conn, n int) <-chan []byte {
	out := make(chan []byte, 1)
	go func() {
		buf := make([]byte, n)
		k, _ := io.ReadFull(c, buf)
		out <- buf[:k]
	}()
	return out
}

func TestTryWriteNeverBlocks(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		b.SetReadBuffer(4096)
		f := newFD(t, a, never)
		sent := fill(t, f, a)
		// Full now: more writes still return at once, taking less than
		// asked (the kernel may have moved a few bytes on meanwhile).
		p := pattern(64<<10, len(sent))
		n, err := f.TryWrite(p)
		if err != nil || n >= len(p) {
			t.Errorf("TryWrite of 64 KiB on a full socket = %d, %v; want < 64 KiB, nil", n, err)
		}
		sent = append(sent, p[:max(n, 0)]...)
		q := pattern(64<<10, len(sent))
		n, err = f.TryWritev([][]byte{q[:1000], q[1000:]})
		if err != nil || n >= len(q) {
			t.Errorf("TryWritev of 64 KiB on a full socket = %d, %v; want < 64 KiB, nil", n, err)
		}
		sent = append(sent, q[:max(n, 0)]...)
		got := <-readAll(b, len(sent))
		if !bytes.Equal(got, sent) {
			t.Errorf("the peer read %d bytes that differ from the %d TryWrite reported", len(got), len(sent))
		}
	})
}

func TestTryWritevInOrder(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		n, err := f.TryWritev([][]byte{[]byte("one "), []byte("two "), []byte("three")})
		if err != nil || n != 13 {
			t.Fatalf("TryWritev = %d, %v; want 13, nil", n, err)
		}
		if got := <-readAll(b, 13); string(got) != "one two three" {
			t.Errorf("read %q", got)
		}
	})
}

func TestWritevWaitsAndWrites(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		b.SetReadBuffer(4096)
		f := newFD(t, a, never)
		sent := fill(t, f, a)
		bufs := [][]byte{pattern(1000, len(sent)), pattern(3000, len(sent)+1000)}
		want := append(append(bytes.Clone(sent), bufs[0]...), bufs[1]...)

		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := f.Writev(bufs)
			done <- result{n, err}
		}()
		// The socket is full: Writev can only finish once the peer reads.
		got := make([]byte, 0, len(want))
		buf := make([]byte, 64<<10)
		var r result
		for waiting := true; waiting; {
			k, err := b.Read(buf)
			if err != nil {
				t.Fatalf("peer Read: %v", err)
			}
			got = append(got, buf[:k]...)
			if len(got) < len(sent) {
				continue
			}
			r = <-done
			waiting = false
		}
		if r.err != nil || r.n < 1 || r.n > 4000 {
			t.Fatalf("Writev = %d, %v; want 1..4000 bytes, nil", r.n, r.err)
		}
		want = want[:len(sent)+r.n]
		rest := <-readAll(b, len(want)-len(got))
		got = append(got, rest...)
		if !bytes.Equal(got, want) {
			t.Errorf("the peer read %d bytes that differ from the %d written", len(got), len(want))
		}
	})
}
