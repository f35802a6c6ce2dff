package poll

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// pattern returns n bytes that differ from any shift of themselves.
func pattern(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// roundTrip writes data to conn in random chunks while it reads the echo
// back, and reports the first difference.
func roundTrip(t *testing.T, conn io.ReadWriter, data []byte, seed uint64) {
	t.Helper()
	werr := make(chan error, 1)
	go func() {
		r := rand.New(rand.NewPCG(seed, 2))
		for p := data; len(p) > 0; {
			n := min(len(p), 1+r.IntN(20000))
			if _, err := conn.Write(p[:n]); err != nil {
				werr <- err
				return
			}
			p = p[n:]
		}
		werr <- nil
	}()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Errorf("reading the echo: %v", err)
	}
	if err := <-werr; err != nil {
		t.Errorf("writing: %v", err)
	}
	if i := firstDiff(got, data); i >= 0 {
		t.Errorf("echo differs from byte %d of %d", i, len(data))
	}
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// fileConn makes a net.Conn of a duplicate of fd (fd stays the
// caller's).
func fileConn(t testing.TB, fd int) net.Conn {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(dup), "peer")
	conn, err := net.FileConn(f) // another duplicate
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestEchoSocketpair echoes over many socket pairs spread over three
// loops, all at once: every byte comes back in order.
func TestEchoSocketpair(t *testing.T) {
	withLoops(t, 3)
	const conns, size = 24, 256 << 10
	data := pattern(size, 1)
	var wg sync.WaitGroup
	seen := map[*loop]bool{}
	for i := range conns {
		a, b := socketpair(t)
		seen[registerEcho(t, a).l] = true
		peer := fileConn(t, b)
		wg.Go(func() { roundTrip(t, peer, data, uint64(i)) })
	}
	wg.Wait()
	if len(seen) != 3 {
		t.Errorf("the Conns are on %d loops, want 3", len(seen))
	}
}

// TestEchoTCP echoes over TCP connections accepted on 127.0.0.1:0.
func TestEchoTCP(t *testing.T) {
	withLoops(t, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const conns, size = 8, 512 << 10
	data := pattern(size, 2)
	var wg sync.WaitGroup
	for i := range conns {
		client, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		server, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		fd := takeFD(t, server.(*net.TCPConn))
		server.Close() // the duplicate keeps the connection open
		registerEcho(t, fd)
		wg.Go(func() { roundTrip(t, client, data, uint64(i)) })
	}
	wg.Wait()
}
