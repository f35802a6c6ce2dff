package exampletest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// waitLimit bounds every wait of these helpers: a failure guard only.
const waitLimit = 10 * time.Second

// StartServer runs serve (an example's server mode) in the background and
// waits for the line it prints starting with prefix, whose rest up to a
// comma is the address it serves on. It returns that address and a
// function that stops the server and returns serve's result. buf must
// have Lines.
func StartServer(t testing.TB, buf *Buffer, prefix string, serve func(ctx context.Context) error) (string, func() error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx) }()
	timeout := time.After(waitLimit)
	for {
		select {
		case line := <-buf.Lines:
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				addr, _, _ := strings.Cut(rest, ",")
				return addr, func() error { stop(); return <-served }
			}
		case err := <-served:
			stop()
			t.Fatalf("server returned before serving: %v", err)
		case <-timeout:
			stop()
			t.Fatalf("the server did not print %q", prefix)
		}
	}
}

// WaitLine waits for a printed line starting with prefix. s must have
// Lines.
func (s *Buffer) WaitLine(t testing.TB, prefix string) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case line := <-s.Lines:
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-timeout:
			t.Fatalf("no output line %q:\n%s", prefix, s.String())
		}
	}
}
