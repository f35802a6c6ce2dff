package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"testing"

	"github.com/rxnet/rxnet/internal/exampletest"
	"github.com/rxnet/rxnet/transport"
)

// readBound is the most a server may hold in a connection's write buffer
// when it honours flow control: the high-water mark, one read over it,
// and TLS's framing of that read.
const readBound = 64<<10 + 64<<10 + 1<<10

// startFloodServer serves the example on a free port and returns it; the
// test's end stops it.
func startFloodServer(t *testing.T) (*server, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{Lines: make(chan string, 256)}
	out = buf
	s := exampletest.Serve(t, buf, func(ctx context.Context) (*server, error) {
		return serve(ctx, "127.0.0.1:0", "")
	}, (*server).close)
	return s, buf
}

// flood connects a TLS client to s that sends chunk again and again and
// never reads (exampletest.Flood).
func flood(t *testing.T, s *server, chunk []byte) <-chan error {
	t.Helper()
	c, err := tls.DialWithDialer(exampletest.SmallReceiveBuffer(), "tcp", s.srv.Addr().String(), &tls.Config{RootCAs: s.ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	return exampletest.Flood(t, c, chunk)
}

// checkBounded checks the server's largest write buffer against bound.
func checkBounded(t *testing.T, st transport.ServerStats, bound int) {
	t.Helper()
	if st.Transports.PeakWriteBuffer > bound {
		t.Errorf("the server's write buffer grew to %d bytes, over %d: it kept reading what it could not send",
			st.Transports.PeakWriteBuffer, bound)
	}
}

// TestDefect9_TLSEchoBounded: a client that sends without a newline and
// never reads is cut off once its line goes over maxLine; the server
// holds that line and one read at most.
func TestDefect9_TLSEchoBounded(t *testing.T) {
	s, buf := startFloodServer(t)
	flooded := flood(t, s, bytes.Repeat([]byte{'x'}, 64<<10))
	if !buf.WaitLineOr(t, "sent a line over 4096 bytes; close", flooded) {
		t.Fatalf("the server read all %d MiB of one line without cutting the client off; peak write buffer %d bytes",
			exampletest.FloodBytes>>20, s.srv.Stats().Transports.PeakWriteBuffer)
	}
	checkBounded(t, s.srv.Stats(), readBound)
}

// TestDefect9_TLSEchoHonoursPauseWriting: a client that sends lines and
// never reads its echo makes the server pause reading once its write
// buffer is over the high-water mark; the buffer stops there.
func TestDefect9_TLSEchoHonoursPauseWriting(t *testing.T) {
	s, buf := startFloodServer(t)
	line := append(bytes.Repeat([]byte{'y'}, maxLine-1), '\n')
	flooded := flood(t, s, bytes.Repeat(line, 16))
	if !buf.WaitLineOr(t, "does not read its echo; pause reading", flooded) {
		t.Fatalf("the server read all %d MiB while the client read nothing; peak write buffer %d bytes",
			exampletest.FloodBytes>>20, s.srv.Stats().Transports.PeakWriteBuffer)
	}
	// Whatever comes after the pause (a resume once the kernel takes
	// more), the flow rule bounds the peak at every moment.
	st := s.srv.Stats()
	checkBounded(t, st, readBound)
	if st.Transports.ReadPauses == 0 {
		t.Error("Stats counts no read pause")
	}
}
