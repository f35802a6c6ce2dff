package poll

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPauseInsideCallbackResumeDelivers: a handler that reads 10 bytes
// and turns reading off (more == true) gets the rest, which stays in the
// kernel, after each SetReading(true), with no new data and so no new
// edge.
func TestPauseInsideCallbackResumeDelivers(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	data := pattern(100, 3)
	if _, err := unix.Write(b, data); err != nil {
		t.Fatal(err)
	}
	chunks := make(chan []byte, 1)
	var c *Conn
	c = register(t, a, &handler{readable: func(buf []byte) bool {
		n, err := unix.Read(a, buf[:10])
		if err != nil || n <= 0 {
			return false
		}
		c.SetReading(false)
		chunks <- bytes.Clone(buf[:n])
		return true
	}})
	var got []byte
	for len(got) < len(data) {
		c.SetReading(true)
		got = append(got, <-chunks...)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("got %x, want %x", got, data)
	}
}

// TestResumeAfterEdgeWhilePaused: data that came (and whose edge the loop
// dispatched) while reading was off is delivered by SetReading(true)
// alone.
func TestResumeAfterEdgeWhilePaused(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	got := make(chan []byte, 1)
	c := register(t, a, &handler{readable: func(buf []byte) bool {
		n, err := unix.Read(a, buf)
		if err == nil && n > 0 {
			got <- bytes.Clone(buf[:n])
		}
		return err == nil && n > 0
	}})
	if _, err := unix.Write(b, []byte("while paused")); err != nil {
		t.Fatal(err)
	}
	barrier(t, c) // the edge has been dispatched, with reading off
	c.SetReading(true)
	if p := <-got; string(p) != "while paused" {
		t.Errorf("got %q", p)
	}
}

// TestReadMoreIsCalledAgain: a handler that takes one byte per call and
// reports more gets every byte without new edges, and OnReadable of
// another descriptor on the same loop runs in between (round-robin).
// The first call on descriptor 1 waits until reading is on for both, so
// the loop cannot finish descriptor 1 before descriptor 2 is turned on.
func TestReadMoreIsCalledAgain(t *testing.T) {
	withLoops(t, 1)
	a1, b1 := socketpair(t)
	a2, b2 := socketpair(t)
	const size = 64
	order := make(chan int, 2*size+2)
	bothOn := make(chan struct{})
	reader := func(fd, id int) *handler {
		return &handler{readable: func(buf []byte) bool {
			<-bothOn
			n, err := unix.Read(fd, buf[:1])
			if err != nil || n <= 0 {
				return false
			}
			order <- id
			return true
		}}
	}
	c1 := register(t, a1, reader(a1, 1))
	c2 := register(t, a2, reader(a2, 2))
	for _, fd := range []int{b1, b2} {
		if _, err := unix.Write(fd, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	barrier(t, c1)
	c1.SetReading(true)
	c2.SetReading(true)
	close(bothOn)
	var seq []int
	for range 2 * size {
		seq = append(seq, <-order)
	}
	switched := 0
	for i := 1; i < len(seq); i++ {
		if seq[i] != seq[i-1] {
			switched++
		}
	}
	if switched < size { // strict alternation switches 2*size-1 times
		t.Errorf("the loop switched descriptors %d times in %v: one starved the other", switched, seq)
	}
}
