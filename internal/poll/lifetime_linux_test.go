package poll

import (
	"os"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestLoopsStopAfterLastClose: once the last Conn is done the loop
// goroutines exit and their epoll and eventfd descriptors are closed; a
// new Register starts them again.
func TestLoopsStopAfterLastClose(t *testing.T) {
	withLoops(t, 2)
	goleak.VerifyNone(t) // the loops of earlier tests have exited
	for round := range 3 {
		before := openFDs(t)
		var conns []*Conn
		for range 4 {
			a, _ := socketpair(t)
			c, err := Register(a, &handler{})
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		if c := conns[0]; c.l == conns[1].l {
			t.Fatalf("round %d: the first two Conns share a loop", round)
		}
		for _, c := range conns {
			c.Close()
			<-c.Done()
		}
		goleak.VerifyNone(t) // the loops' goroutines have exited
		if after := openFDs(t) - 8; after != before {
			t.Errorf("round %d: %d descriptors open after the loops stopped, %d before (not counting the pairs)", round, after, before)
		}
		pollers.mu.Lock()
		running := pollers.loops != nil
		pollers.mu.Unlock()
		if running {
			t.Errorf("round %d: the group still holds loops", round)
		}
	}
}

// TestNoGoroutinePerConn: 200 registered descriptors cost the two loops'
// goroutines and no more.
func TestNoGoroutinePerConn(t *testing.T) {
	withLoops(t, 2)
	goleak.VerifyNone(t) // the loops of earlier tests have exited
	base := runtime.NumGoroutine()
	for range 200 {
		a, _ := socketpair(t)
		register(t, a, &handler{}).SetReading(true)
	}
	if n := runtime.NumGoroutine() - base; n != 2 {
		t.Errorf("200 Conns added %d goroutines, want 2 (the loops)", n)
	}
}

// TestRegisterErrors: a nil Handler, a negative descriptor and one that
// epoll cannot watch (a regular file) are errors, and leave no loop
// running.
func TestRegisterErrors(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "file")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name string
		fd   int
		h    Handler
	}{
		{"nil handler", 0, nil},
		{"negative fd", -1, &handler{}},
		{"regular file", int(f.Fd()), &handler{}},
	} {
		if c, err := Register(tc.fd, tc.h); err == nil {
			c.Close()
			t.Errorf("%s: Register succeeded", tc.name)
		}
	}
	goleak.VerifyNone(t)
}

// TestRegisterNearSharesLoop: RegisterNear puts a descriptor on near's
// loop, the busier one though it is, and still after near's registration
// is over, while that loop runs; once the loops have stopped it takes a
// new one.
func TestRegisterNearSharesLoop(t *testing.T) {
	withLoops(t, 2)
	goleak.VerifyNone(t) // the loops of earlier tests have exited
	nearFD, _ := socketpair(t)
	near, err := Register(nearFD, &handler{})
	if err != nil {
		t.Fatal(err)
	}
	var conns []*Conn
	add := func(c *Conn, err error) *Conn {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		return c
	}
	fd := func() int { a, _ := socketpair(t); return a }
	if other := add(Register(fd(), &handler{})); other.l == near.l {
		t.Fatal("Register did not take the other loop")
	}
	for i := range 2 { // the second time near's loop is the busier
		if c := add(RegisterNear(fd(), &handler{}, near)); c.l != near.l {
			t.Fatalf("RegisterNear #%d did not take near's loop", i)
		}
	}
	near.Close()
	<-near.Done()
	if c := add(RegisterNear(fd(), &handler{}, near)); c.l != near.l {
		t.Fatal("RegisterNear after near's Close did not take its loop, which runs")
	}
	for _, c := range conns {
		c.Close()
		<-c.Done()
	}
	c, err := RegisterNear(fd(), &handler{}, near) // the loops stopped: new ones
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c.Close(); <-c.Done() }()
	if c.l == near.l {
		t.Fatal("RegisterNear took a stopped loop")
	}
}
