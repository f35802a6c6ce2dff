package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/exampletest"
)

// startFloodServer serves the example on a free port, with its prints in
// the returned buffer; the test's end stops it.
func startFloodServer(t *testing.T) (*server, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{Lines: make(chan string, 256)}
	out = buf
	s := exampletest.Serve(t, buf, func(ctx context.Context) (*server, error) {
		return serve(ctx, "127.0.0.1:0", "")
	}, (*server).close)
	return s, buf
}

// flood connects a plain-text client to s that sends chunk again and
// again and never reads (exampletest.Flood).
func flood(t *testing.T, s *server, chunk []byte) <-chan error {
	t.Helper()
	c, err := exampletest.SmallReceiveBuffer().Dial("tcp", s.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return exampletest.Flood(t, c, chunk)
}

// TestDefect9_StartTLSLineBounded: a client that sends without a newline
// and never reads is cut off once its line goes over maxLine; the server
// holds that line and one read at most.
func TestDefect9_StartTLSLineBounded(t *testing.T) {
	s, buf := startFloodServer(t)
	flooded := flood(t, s, bytes.Repeat([]byte{'x'}, 64<<10))
	if !buf.WaitLineOr(t, "sent a line over 1000 bytes; close", flooded) {
		t.Fatalf("the server read all %d MiB of one line without cutting the client off", exampletest.FloodBytes>>20)
	}
	if !buf.WaitLineOr(t, "server: > 500 line too long", nil) { // printed after the line above
		t.Errorf("the server did not tell the client why")
	}
}

// TestDefect9_StartTLSHonoursPauseWriting: a client that sends lines over
// TLS and never reads the replies makes the server stop answering and
// reading once its write buffer is over the high-water mark; the buffer
// stops there, one reply over it.
func TestDefect9_StartTLSHonoursPauseWriting(t *testing.T) {
	s, buf := startFloodServer(t)
	c, err := exampletest.SmallReceiveBuffer().Dial("tcp", s.srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	expectLine(t, c, "220 ready")
	if _, err := c.Write([]byte("STARTTLS\n")); err != nil {
		t.Fatal(err)
	}
	expectLine(t, c, "220 go ahead")
	tc := tls.Client(c, &tls.Config{RootCAs: s.ca.Pool, ServerName: "127.0.0.1"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Each line is answered with "250 got " and the line.
	line := append(bytes.Repeat([]byte{'x'}, maxLine-1), '\n')
	flooded := exampletest.Flood(t, tc, bytes.Repeat(line, 64))
	if !buf.WaitLineOr(t, "does not read its replies; pause reading", flooded) {
		t.Fatalf("the server read all %d MiB while the client read nothing; peak write buffer %d bytes",
			exampletest.FloodBytes>>20, s.srv.Stats().Transports.PeakWriteBuffer)
	}
	// Whatever comes after the pause (a resume once the kernel takes
	// more), the flow rule bounds the peak at every moment.
	st := s.srv.Stats()
	if bound := 64<<10 + len("250 got \n") + maxLine + 1<<10; st.Transports.PeakWriteBuffer > bound {
		t.Errorf("the server's write buffer grew to %d bytes, over %d (the high-water mark, one reply and TLS's framing): it answered what it could not send",
			st.Transports.PeakWriteBuffer, bound)
	}
	if st.Transports.ReadPauses == 0 {
		t.Error("Stats counts no read pause")
	}
}

// expectLine reads one line from c, byte by byte (nothing after it: TLS
// may follow), and checks it.
func expectLine(t *testing.T, c net.Conn, want string) {
	t.Helper()
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("reading %q: %v", want, err)
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	if got := strings.TrimSuffix(string(line), "\r"); got != want {
		t.Fatalf("server said %q, want %q", got, want)
	}
}
