package sock

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// waitReadable blocks until c's descriptor is readable or has an error
// pending, without reading or taking the error.
func waitReadable(t *testing.T, c syscall.Conn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	err = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, perr = unix.Poll(fds, 10_000)
			if perr != unix.EINTR {
				return
			}
		}
	})
	if err != nil || perr != nil {
		t.Fatalf("poll: %v, %v", err, perr)
	}
}

func TestTCPClosed(t *testing.T) {
	t.Run("open", func(t *testing.T) {
		a, _ := pair(t, "tcp")
		if newFD(t, a, never).TCPClosed() {
			t.Error("TCPClosed on an open connection")
		}
	})
	t.Run("peer FIN", func(t *testing.T) {
		a, b := pair(t, "tcp")
		f := newFD(t, a, never)
		b.CloseWrite()
		if _, n, err := f.Read(MaxRead); n != 0 || err != nil {
			t.Fatalf("Read after FIN = %d, %v; want 0, nil", n, err)
		}
		if f.TCPClosed() {
			t.Error("TCPClosed after the peer's FIN (CLOSE_WAIT), which a reset must not look like")
		}
	})
	t.Run("FIN each way", func(t *testing.T) {
		// A clean close, the peer first: CLOSE_WAIT, then LAST_ACK, then
		// TCP_CLOSE once the peer acknowledges our FIN. No reset happened.
		a, b := pair(t, "tcp")
		f := newFD(t, a, never)
		b.CloseWrite()
		if _, n, err := f.Read(MaxRead); n != 0 || err != nil {
			t.Fatalf("Read after FIN = %d, %v; want 0, nil", n, err)
		}
		a.CloseWrite()
		// The peer reads our FIN, so its ACK has been sent.
		if n, err := b.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("peer Read after our FIN = %d, %v; want EOF", n, err)
		}
		if !f.TCPClosed() {
			t.Error("TCPClosed = false after a clean FIN each way, ours last (LAST_ACK then TCP_CLOSE)")
		}
	})
	t.Run("reset taken by a write", func(t *testing.T) {
		a, b := pair(t, "tcp")
		f := newFD(t, a, never)
		if err := b.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		b.Close() // RST
		waitReadable(t, a)
		if _, err := f.TryWrite([]byte("x")); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("TryWrite after a reset = %v; want ECONNRESET or EPIPE", err)
		}
		// The write took the error: the read sees 0, as after a FIN.
		if _, n, err := f.Read(MaxRead); n != 0 || err != nil {
			t.Errorf("Read after the write took the reset = %d, %v; want 0, nil (Linux reports a reset once)", n, err)
		}
		if !f.TCPClosed() {
			t.Error("TCPClosed = false after a reset")
		}
	})
	t.Run("unix socket", func(t *testing.T) {
		a, b := pair(t, "unix")
		f := newFD(t, a, never)
		b.Close()
		if _, n, err := f.Read(MaxRead); n != 0 || err != nil {
			t.Fatalf("Read after close = %d, %v", n, err)
		}
		if f.TCPClosed() {
			t.Error("TCPClosed on a Unix socket")
		}
	})
	t.Run("closed descriptor", func(t *testing.T) {
		a, _ := pair(t, "tcp")
		f := newFD(t, a, never)
		a.Close()
		if f.TCPClosed() {
			t.Error("TCPClosed on a closed descriptor")
		}
	})
}

// TestReadable: false while nothing is pending, also while a read waits
// on another goroutine; true once data or the peer's FIN is there, and it
// takes nothing.
func TestReadable(t *testing.T) {
	a, b := pair(t, "tcp")
	f := newFD(t, a, never)
	if f.Readable() {
		t.Fatal("Readable on an idle connection")
	}
	got := make(chan string, 1)
	go func() {
		p := make([]byte, 8)
		n, _ := f.ReadInto(p, false)
		got <- string(p[:n])
	}()
	if f.Readable() {
		t.Fatal("Readable while a read waits and nothing came")
	}
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "x" {
		t.Fatalf("read %q, want x", s)
	}
	if _, err := b.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, a)
	for i := range 2 { // the first call takes nothing
		if !f.Readable() {
			t.Fatalf("call %d: not Readable with data pending", i+1)
		}
	}
	p := make([]byte, 8)
	if n, err := f.ReadInto(p, false); err != nil || string(p[:n]) != "y" {
		t.Fatalf("ReadInto after Readable = %q, %v; want y", p[:n], err)
	}
	b.CloseWrite()
	waitReadable(t, a)
	if !f.Readable() {
		t.Fatal("not Readable after the peer's FIN")
	}
}
