package poll

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// fill writes to fd until the kernel takes nothing more, and returns the
// count written.
func fill(t testing.TB, fd int) int {
	chunk := make([]byte, 64<<10)
	total := 0
	for {
		n, err := unix.Write(fd, chunk)
		if err == unix.EAGAIN {
			return total
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
}

// drain reads n bytes from a blocking fd.
func drain(fd, n int) error {
	buf := make([]byte, 64<<10)
	for n > 0 {
		m, err := unix.Read(fd, buf[:min(n, len(buf))])
		if err != nil {
			return err
		}
		if m == 0 {
			return io.ErrUnexpectedEOF
		}
		n -= m
	}
	return nil
}

// TestWantWritableAfterFull fills the socket (the peer does not read),
// arms, then drains the peer: OnWritable comes and the rest goes out.
func TestWantWritableAfterFull(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	rest := make([]byte, 10000)
	done := make(chan struct{})
	var c *Conn
	c = register(t, a, &handler{writable: func() {
		n, err := unix.Write(a, rest)
		if err == nil {
			rest = rest[n:]
		}
		if len(rest) > 0 {
			c.WantWritable() // a spurious call, or a short write: arm again
			return
		}
		close(done)
	}})
	barrier(t, c)
	want := fill(t, a) + len(rest)
	c.WantWritable()
	errc := make(chan error, 1)
	go func() { errc <- drain(b, want) }()
	<-done
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestWantWritableAfterEdgeIsNotLost: a writable edge that the loop saw
// before WantWritable (as when the peer drains between the caller's
// EAGAIN and its WantWritable) still gives one OnWritable.
func TestWantWritableAfterEdgeIsNotLost(t *testing.T) {
	withLoops(t, 1)
	a, _ := socketpair(t)
	calls := make(chan struct{}, 4)
	c := register(t, a, &handler{writable: func() { calls <- struct{}{} }})
	barrier(t, c) // the registration's writable edge is recorded
	c.WantWritable()
	<-calls // that edge
	if got := c.wstate.Load(); got != 0 {
		t.Fatalf("wstate after OnWritable = %d, want 0", got)
	}
	edge := make(chan struct{})
	c.Post(func() { c.l.writableEdge(c); close(edge) }) // an edge nobody armed for
	<-edge
	c.WantWritable()
	<-calls
}

// TestWantWritableRace writes 16 MiB through a small socket buffer from
// one goroutine that arms on every short write and waits for OnWritable,
// while the peer reads: a lost edge hangs the test.
func TestWantWritableRace(t *testing.T) {
	withLoops(t, 2)
	a, b := socketpair(t)
	for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
		unix.SetsockoptInt(a, unix.SOL_SOCKET, opt, 4096)
		unix.SetsockoptInt(b, unix.SOL_SOCKET, opt, 4096)
	}
	writable := make(chan struct{}, 1)
	var spurious atomic.Int64
	c := register(t, a, &handler{writable: func() {
		select {
		case writable <- struct{}{}:
		default:
			spurious.Add(1)
		}
	}})
	const total = 16 << 20
	var wg sync.WaitGroup
	var rerr error
	wg.Go(func() { rerr = drain(b, total) })
	chunk := pattern(3000, 4)
	shorts := 0
	for sent := 0; sent < total; {
		p := chunk[:min(len(chunk), total-sent)]
		n, err := unix.Write(a, p)
		if err != nil && err != unix.EAGAIN {
			t.Fatal(err)
		}
		sent += max(n, 0)
		if n < len(p) {
			shorts++
			c.WantWritable()
			<-writable
		}
	}
	wg.Wait()
	if rerr != nil {
		t.Fatal(rerr)
	}
	t.Logf("%d short writes, %d OnWritable with one already pending", shorts, spurious.Load())
}
