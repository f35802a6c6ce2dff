//go:build unix

package sock

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestReadIntoCallerBuffer: ReadInto reads into the caller's buffer, at
// most len(p), and returns 0 at EOF.
func TestReadIntoCallerBuffer(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		b.Write([]byte("hello"))
		p := make([]byte, 3)
		n, err := f.ReadInto(p, true)
		if err != nil || n != 3 || string(p) != "hel" {
			t.Fatalf("ReadInto = %d, %v, %q; want 3, nil, hel", n, err, p[:n])
		}
		n, err = f.ReadInto(p, true)
		if err != nil || string(p[:n]) != "lo" {
			t.Fatalf("ReadInto = %d, %v, %q; want lo", n, err, p[:n])
		}
		b.CloseWrite()
		if n, err := f.ReadInto(p, true); n != 0 || err != nil {
			t.Fatalf("ReadInto at EOF = %d, %v; want 0, nil", n, err)
		}
	})
}

// TestReadIntoStoppable: a stoppable ReadInto honours New's stop
// function without consuming; an unstoppable one reads anyway.
func TestReadIntoStoppable(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		var stop atomic.Bool
		stop.Store(true)
		f := newFD(t, a, stop.Load)
		b.Write([]byte("x"))
		p := make([]byte, 8)
		if n, err := f.ReadInto(p, true); !errors.Is(err, ErrStopped) || n != 0 {
			t.Fatalf("stoppable ReadInto while stopped = %d, %v; want 0, ErrStopped", n, err)
		}
		if n, err := f.ReadInto(p, false); err != nil || string(p[:n]) != "x" {
			t.Fatalf("unstoppable ReadInto while stopped = %d, %v; want x", n, err)
		}
	})
}

// TestTryReadIntoDoesNotWait: with nothing to read TryReadInto returns
// ErrWouldBlock at once; with data it reads it.
func TestTryReadIntoDoesNotWait(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		p := make([]byte, 8)
		if n, err := f.TryReadInto(p); !errors.Is(err, ErrWouldBlock) || n != 0 {
			t.Fatalf("TryReadInto with nothing to read = %d, %v; want 0, ErrWouldBlock", n, err)
		}
		b.Write([]byte("now"))
		if n, err := f.ReadInto(p[:1], true); err != nil || n != 1 { // waits for it
			t.Fatalf("ReadInto = %d, %v", n, err)
		}
		n, err := f.TryReadInto(p) // one write on a local socket arrives whole
		if err != nil || string(p[:n]) != "ow" {
			t.Fatalf("TryReadInto with data = %d, %v, %q; want ow", n, err, p[:n])
		}
		if _, err := f.TryReadInto(p); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TryReadInto drained: %v, want ErrWouldBlock", err)
		}
	})
}

// TestInterruptStreamRead: Interrupt makes a waiting Read (or ReadInto)
// return ErrInterrupted; after Resume reads wait and read again.
func TestInterruptStreamRead(t *testing.T) {
	run(t, func(t *testing.T, network string) {
		a, b := pair(t, network)
		f := newFD(t, a, never)
		done := make(chan error, 1)
		go func() {
			_, _, err := f.Read(MaxRead)
			done <- err
		}()
		waitIOWait(t)
		if err := f.Interrupt(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrInterrupted) {
			t.Fatalf("Read after Interrupt: %v, want ErrInterrupted", err)
		}
		if _, err := f.ReadInto(make([]byte, 1), false); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("ReadInto after Interrupt: %v, want ErrInterrupted", err)
		}
		if err := f.Resume(); err != nil {
			t.Fatal(err)
		}
		b.Write([]byte("y"))
		p := make([]byte, 1)
		if n, err := f.ReadInto(p, true); err != nil || n != 1 {
			t.Fatalf("ReadInto after Resume = %d, %v", n, err)
		}
	})
}
