package poll

import (
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// flood writes to fd until stop is closed or a write fails.
func flood(fd int, stop <-chan struct{}) {
	p := make([]byte, 1024)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := unix.Write(fd, p); err != nil && err != unix.EAGAIN {
			return
		}
	}
}

// TestCloseWhileReadable closes a Conn whose peer keeps writing: no
// callback runs or starts once Done is closed, and the loop goes on
// serving another descriptor. (One the loop was about to start when Close
// came from this goroutine may still start: Close does not wait.)
func TestCloseWhileReadable(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	unix.SetNonblock(b, true)
	var done atomic.Bool
	var running atomic.Int32
	var late atomic.Int32
	calls := make(chan struct{}, 1)
	c := register(t, a, &handler{readable: func(buf []byte) bool {
		running.Add(1)
		defer running.Add(-1)
		if done.Load() {
			late.Add(1)
		}
		select {
		case calls <- struct{}{}:
		default:
		}
		unix.Read(a, buf[:100]) // leave data: more, always
		return true
	}})
	c.SetReading(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { flood(b, stop) })
	defer wg.Wait()
	defer close(stop)
	for range 10 {
		<-calls
	}
	c.Close()
	<-c.Done()
	done.Store(true)
	if n := running.Load(); n != 0 {
		t.Errorf("%d OnReadable running after Done", n)
	}
	if c.Post(func() {}) {
		t.Error("Post after Close reported true")
	}
	// Another Conn on the same loop: its barrier runs after rounds that
	// saw the flood's edges on the closed descriptor.
	x, _ := socketpair(t)
	barrier(t, register(t, x, &handler{}))
	if n := late.Load(); n != 0 {
		t.Errorf("%d OnReadable started after Done", n)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
}

// TestCloseInsideCallback: OnReadable closes its own Conn; Done is closed
// after it returns and no callback follows.
func TestCloseInsideCallback(t *testing.T) {
	withLoops(t, 1)
	a, b := socketpair(t)
	var calls, writables atomic.Int32
	var c *Conn
	c = register(t, a, &handler{
		readable: func(buf []byte) bool {
			calls.Add(1)
			c.Close()
			c.Close() // a second Close does nothing
			c.WantWritable()
			return true // more: the loop must not call again
		},
		writable: func() { writables.Add(1) },
	})
	c.SetReading(true)
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if n := calls.Load(); n != 1 {
		t.Errorf("OnReadable called %d times, want 1", n)
	}
	if n := writables.Load(); n != 0 {
		t.Errorf("OnWritable called %d times after Close, want 0", n)
	}
}

// TestPostOrder: tasks run in the order they were posted, on the loop
// (InLoop is true there and false on the test's goroutine), and a task
// queued before Close runs before Done.
func TestPostOrder(t *testing.T) {
	withLoops(t, 1)
	a, _ := socketpair(t)
	c := register(t, a, &handler{})
	if c.InLoop() {
		t.Error("InLoop on the test goroutine = true")
	}
	var got []int
	inLoop := true
	for i := range 100 {
		c.Post(func() {
			got = append(got, i)
			inLoop = inLoop && c.InLoop()
		})
	}
	c.Close()
	<-c.Done()
	if len(got) != 100 {
		t.Fatalf("%d tasks ran before Done, want 100", len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("task %d ran in place %d", v, i)
		}
	}
	if !inLoop {
		t.Error("InLoop in a task = false")
	}
}
