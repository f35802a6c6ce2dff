package poll

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPanicDropsOnlyItsDescriptor: a panic in OnReadable, in OnWritable
// or in a posted task drops that descriptor (OnDropped gets the
// *PanicError, Err reports it), and an echo on the same loop keeps
// working.
func TestPanicDropsOnlyItsDescriptor(t *testing.T) {
	withLoops(t, 1)
	ea, eb := socketpair(t)
	registerEcho(t, ea)
	peer := fileConn(t, eb)
	cases := []struct {
		name  string
		h     func(dropped chan error) *handler
		start func(c *Conn, peer int)
	}{
		{
			name: "OnReadable",
			h: func(dropped chan error) *handler {
				return &handler{readable: func([]byte) bool { panic("boom") }, dropped: func(err error) { dropped <- err }}
			},
			start: func(c *Conn, peer int) { c.SetReading(true); unix.Write(peer, []byte("x")) },
		},
		{
			name: "OnWritable",
			h: func(dropped chan error) *handler {
				return &handler{writable: func() { panic(errors.New("boom")) }, dropped: func(err error) { dropped <- err }}
			},
			start: func(c *Conn, peer int) { barrier(t, c); c.WantWritable() },
		},
		{
			name: "Post",
			h: func(dropped chan error) *handler {
				return &handler{dropped: func(err error) { dropped <- err; panic("again") }}
			},
			start: func(c *Conn, peer int) { c.Post(func() { panic("boom") }) },
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := socketpair(t)
			dropped := make(chan error, 1)
			c := register(t, a, tc.h(dropped))
			tc.start(c, b)
			err := <-dropped
			<-c.Done()
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value == nil || len(pe.Stack) == 0 {
				t.Errorf("OnDropped got %#v, want a *PanicError", err)
			}
			if c.Err() != err {
				t.Errorf("Err = %v, want OnDropped's %v", c.Err(), err)
			}
			roundTrip(t, peer, pattern(1000, uint64(i)), uint64(i))
		})
	}
}
