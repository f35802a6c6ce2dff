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
