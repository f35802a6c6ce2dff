package exampletest

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
)

// FloodBytes is what Flood tries to send without reading: far more than
// the kernel's socket buffers hold (up to 4 MiB sent plus 32 MiB received
// on Linux by default), so that it all gets through only if the server
// reads it all.
const FloodBytes = 64 << 20

// SmallReceiveBuffer returns a dialer whose sockets have a 16 KiB
// receive buffer: a client that never reads then fills it at once, and
// the server's writes back are held in its own memory (or paused) early.
func SmallReceiveBuffer() *net.Dialer {
	return &net.Dialer{Timeout: waitLimit, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		}); err != nil {
			return err
		}
		return serr
	}}
}

// Flood writes chunk on c again and again, up to FloodBytes, never
// reading, and reports on the returned channel when it has written
// everything (nil) or a write failed. The test's end closes c, which ends
// a write still waiting.
func Flood(t testing.TB, c net.Conn, chunk []byte) <-chan error {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	done := make(chan error, 1)
	go func() {
		for sent := 0; sent < FloodBytes; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// WaitLineOr waits for a printed line that contains want, while a Flood
// runs. It reports false when the flood got everything through and no
// such line had been printed: the server read it all. A flood that fails
// (the server closed the connection) does not end the wait. It fails the
// test when neither comes within 10 s. s must have Lines.
func (s *Buffer) WaitLineOr(t testing.TB, want string, flooded <-chan error) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		select {
		case line := <-s.Lines:
			if strings.Contains(line, want) {
				return true
			}
		case err := <-flooded:
			if err == nil {
				return strings.Contains(s.printed(), want)
			}
			flooded = nil
		case <-ctx.Done():
			t.Fatalf("no line %q within %v:\n%.2000s", want, waitLimit, s.printed())
		}
	}
}

// printed returns everything written so far, taking the lines sent to
// Lines meanwhile: a writer may hold the buffer while it waits to send
// one.
func (s *Buffer) printed() string {
	defer s.DiscardLines()()
	return s.String()
}

// DiscardLines takes every line sent to Lines until the returned function
// is called (which waits for it to stop), so that the example's prints
// never block, e.g. while a test stops its server. s must have Lines.
func (s *Buffer) DiscardLines() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-s.Lines:
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// Serve starts an example's server with serve, under a context that the
// test's end cancels; then it stops the server with stop, reporting its
// error, while the example's last prints are taken (DiscardLines). buf,
// the example's output, must have Lines.
func Serve[S any](t testing.TB, buf *Buffer, serve func(context.Context) (S, error), stop func(S) error) S {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := serve(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer buf.DiscardLines()()
		cancel()
		if err := stop(s); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	})
	return s
}
