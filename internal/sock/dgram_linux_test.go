package sock

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dgramPair returns two connected unixgram sockets, a's FD and b (which
// the test reads or fills directly).
func dgramPair(t *testing.T) (f *FD, a, b *net.UnixConn) {
	t.Helper()
	dir, err := os.MkdirTemp("", "dg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pa := &net.UnixAddr{Name: filepath.Join(dir, "a"), Net: "unixgram"}
	pb := &net.UnixAddr{Name: filepath.Join(dir, "b"), Net: "unixgram"}
	if b, err = net.ListenUnixgram("unixgram", pb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if a, err = net.DialUnix("unixgram", pa, pb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if f, err = NewDatagram(a, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	return f, a, b
}

// TestReadFromDatagramAndSender reads datagrams one at a time, each with
// its sender, an empty one included.
func TestReadFromDatagramAndSender(t *testing.T) {
	f, a, b := dgramPair(t)
	for _, p := range [][]byte{[]byte("one"), {}, []byte("three")} {
		if _, err := b.WriteTo(p, a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "", "three"} {
		buf, n, from, trunc, err := f.ReadFrom(MaxRead)
		if err != nil || trunc {
			t.Fatalf("ReadFrom: %v, trunc %v", err, trunc)
		}
		got := ""
		if buf != nil {
			got = string(buf.Bytes()[:n])
			buf.Put()
		}
		if got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
		if name := from.UnixName(); name != b.LocalAddr().String() {
			t.Fatalf("sender %q, want %s", name, b.LocalAddr())
		}
	}
}

// TestReadFromTruncated reports a datagram longer than the read as cut.
func TestReadFromTruncated(t *testing.T) {
	f, a, b := dgramPair(t)
	if _, err := b.WriteTo(bytes.Repeat([]byte("x"), 100), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf, n, _, trunc, err := f.ReadFrom(10)
	if err != nil || !trunc || n != 10 {
		t.Fatalf("ReadFrom(10) of 100 bytes: n %d, trunc %v, err %v", n, trunc, err)
	}
	buf.Put()
}

// TestInterruptWakesReadFrom: a ReadFrom waiting on an idle socket returns
// ErrInterrupted after Interrupt, and waits again after Resume.
func TestInterruptWakesReadFrom(t *testing.T) {
	f, a, b := dgramPair(t)
	done := make(chan error, 1)
	go func() {
		_, _, _, _, err := f.ReadFrom(MaxRead)
		done <- err
	}()
	if err := f.Interrupt(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("ReadFrom after Interrupt: %v, want ErrInterrupted", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFrom did not return after Interrupt")
	}
	if err := f.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteTo([]byte("after"), a.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf, n, _, _, err := f.ReadFrom(MaxRead)
	if err != nil || string(buf.Bytes()[:n]) != "after" {
		t.Fatalf("ReadFrom after Resume: %v", err)
	}
	buf.Put()
}

// TestTrySendToWouldBlock: with the peer's queue full TrySendTo reports
// not sent and no error; SendTo then waits until the peer reads.
func TestTrySendToWouldBlock(t *testing.T) {
	f, _, b := dgramPair(t)
	p := make([]byte, 1024)
	sent := 0
	for {
		ok, err := f.TrySendTo(p, &Sockaddr{})
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if sent++; sent > 1<<20 {
			t.Fatal("the peer's queue never filled")
		}
	}
	done := make(chan error, 1)
	go func() { done <- f.SendTo([]byte("last"), &Sockaddr{}) }()
	buf := make([]byte, 2048)
	last := ""
	for i := 0; i <= sent; i++ {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		last = string(buf[:n])
	}
	if err := <-done; err != nil || last != "last" {
		t.Fatalf("SendTo: %v; the last datagram read was %q", err, last)
	}
}

// TestTrySendToError returns a socket error rather than hiding it.
func TestTrySendToError(t *testing.T) {
	f, _, b := dgramPair(t)
	b.Close()
	os.Remove(b.LocalAddr().String())
	if _, err := f.TrySendTo([]byte("x"), &Sockaddr{}); err == nil {
		t.Fatal("TrySendTo to a closed peer: no error")
	}
}

// TestInterruptNeedsDeadline: an FD without SetReadDeadline cannot be
// interrupted, and says so.
func TestInterruptNeedsDeadline(t *testing.T) {
	f, _, _ := dgramPair(t)
	f.deadline = nil
	if err := f.Interrupt(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Interrupt: %v, want ErrUnsupported", err)
	}
}

// TestSockaddrRoundTrip converts addresses to the kernel's form and back.
func TestSockaddrRoundTrip(t *testing.T) {
	a := SockaddrInet4([4]byte{127, 0, 0, 1}, 8080)
	if ip, n, port, _ := a.Inet(); n != 4 || port != 8080 || [4]byte(ip[:4]) != [4]byte{127, 0, 0, 1} || a.Family() != unix.AF_INET {
		t.Fatalf("inet4: %v %d %d", ip, n, port)
	}
	six := [16]byte{0xfe, 0x80, 15: 1}
	b := SockaddrInet6(six, 443, 3)
	if ip, n, port, zone := b.Inet(); n != 16 || port != 443 || ip != six || zone != 3 {
		t.Fatalf("inet6: %v %d %d %d", ip, n, port, zone)
	}
	for _, name := range []string{"/tmp/x.sock", "@abstract"} {
		u, err := SockaddrUnix(name)
		if err != nil || u.UnixName() != name || u.Family() != unix.AF_UNIX {
			t.Fatalf("unix %q: %q, %v", name, u.UnixName(), err)
		}
	}
	if _, err := SockaddrUnix(string(make([]byte, 200))); err == nil {
		t.Fatal("SockaddrUnix of a 200-byte name: no error")
	}
	if (&Sockaddr{}).Family() != 0 {
		t.Fatal("the zero Sockaddr has a family")
	}
	x, y := SockaddrInet4([4]byte{1, 2, 3, 4}, 9), SockaddrInet4([4]byte{1, 2, 3, 4}, 9)
	if x != y || x == SockaddrInet4([4]byte{1, 2, 3, 4}, 10) {
		t.Fatal("addresses do not compare by value")
	}
}

// TestTryReadFromDoesNotWait reads into the caller's buffer at once: a
// queued datagram with its sender, a cut one reported as truncated, and
// ErrWouldBlock when none is queued.
func TestTryReadFromDoesNotWait(t *testing.T) {
	f, a, b := dgramPair(t)
	p := make([]byte, 4)
	if _, _, _, err := f.TryReadFrom(p); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryReadFrom on an empty socket: %v, want ErrWouldBlock", err)
	}
	for _, d := range []string{"one", "longer"} {
		if _, err := b.WriteTo([]byte(d), a.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	n, from, trunc, err := f.TryReadFrom(p)
	if err != nil || trunc || string(p[:n]) != "one" || from.UnixName() != b.LocalAddr().String() {
		t.Fatalf("TryReadFrom: %q from %q, trunc %v, %v", p[:n], from.UnixName(), trunc, err)
	}
	n, _, trunc, err = f.TryReadFrom(p)
	if err != nil || !trunc || string(p[:n]) != "long" {
		t.Fatalf("TryReadFrom of a longer datagram: %q, trunc %v, %v", p[:n], trunc, err)
	}
}
