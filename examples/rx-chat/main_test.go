package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the server's and the demo's
// prints, which tells waiters of every write.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the output holds want, and returns it.
func (s *syncBuffer) waitFor(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	for {
		s.mu.Lock()
		got, changed := s.b.String(), s.changed
		s.mu.Unlock()
		if strings.Contains(got, want) {
			return got
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("output lacks %q: %v\n%s", want, ctx.Err(), got)
		}
	}
}

const wantDemo = `chat: alice, bob and carol read, dave never does; write buffer 4096/1024 bytes, stall limit 500ms
alice floods the room: 300 lines of 512 bytes
cut off slow client dave after 500ms stalled
dave's write buffer peaked within high-water mark + one message (4096 + 1059 bytes): true
alice received:
  * welcome, alice: 1 online
  * bob joined
  * carol joined
  * dave joined
  bob: hi alice
  * dave was cut off (stalled 500ms)
  carol: bye
  * carol left
bob received:
  * welcome, bob: 2 online
  * carol joined
  * dave joined
  alice: hello, room
  alice: flood 001..300 (300 lines, whole and in order)
  * dave was cut off (stalled 500ms)
  carol: bye
  * carol left
  * alice left
carol received:
  * welcome, carol: 3 online
  * dave joined
  alice: hello, room
  bob: hi alice
  alice: flood 001..300 (300 lines, whole and in order)
  * dave was cut off (stalled 500ms)
server: 4 accepted, 0 open, 153646 bytes read
`

func TestDemoOutput(t *testing.T) {
	buf := newSyncBuffer()
	out = buf
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, "demo", "127.0.0.1:0", 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != wantDemo {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantDemo)
	}
}

// TestDemoBounds checks the numbers behind the output: the slow client's
// write buffer went over the high-water mark (it was paused, and stayed
// paused for the stall limit) but never beyond it plus one message.
func TestDemoBounds(t *testing.T) {
	out = newSyncBuffer()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := demo(ctx, "127.0.0.1:0", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rep.slowPeak <= writeHigh || rep.slowPeak > writeHigh+maxMessage {
		t.Errorf("slow client's peak write buffer %d, want in (%d, %d]", rep.slowPeak, writeHigh, writeHigh+maxMessage)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("the demo took %v, less than the stall limit", time.Since(start))
	}
	if rep.accepted != 4 || rep.open != 0 {
		t.Errorf("server stats: %d accepted, %d open; want 4, 0", rep.accepted, rep.open)
	}
	// Names, four lines, the flood, bye.
	want := int64(len("alice\nbob\ncarol\ndave\n") + len("hello, room\nhi alice\n") + floodLines*floodSize + len("bye\n"))
	if rep.bytesRead != want {
		t.Errorf("server read %d bytes, want %d", rep.bytesRead, want)
	}
}

// client is a plain test client of a chat server.
type client struct {
	conn net.Conn
	sc   *bufio.Scanner
}

func dialClient(t *testing.T, addr, name string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{conn: conn, sc: bufio.NewScanner(conn)}
	c.say(t, name)
	return c
}

func (c *client) say(t *testing.T, line string) {
	t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}

// expect reads the next line (bounded by the connection's deadline).
func (c *client) expect(t *testing.T, want string) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if !c.sc.Scan() {
		t.Fatalf("want %q, got the end: %v", want, c.sc.Err())
	}
	if got := c.sc.Text(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// expectEnd reads to the end of the connection.
func (c *client) expectEnd(t *testing.T) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for c.sc.Scan() {
		t.Errorf("unexpected line %q", c.sc.Text())
	}
}

// TestServerMode runs -mode server, chats through it with plain clients
// (blank lines, names, an oversize line), and stops it by cancelling.
func TestServerMode(t *testing.T) {
	buf := newSyncBuffer()
	out = buf
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srvCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(srvCtx, "server", "127.0.0.1:0", time.Second) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	got := buf.waitFor(t, ctx, "; the first line")
	addr := strings.TrimPrefix(got[:strings.Index(got, ";")], "serving on ")

	ann := dialClient(t, addr, "  ann  ")
	defer ann.conn.Close()
	ann.expect(t, "* welcome, ann: 1 online")
	long := strings.Repeat("x", maxName+5)
	ben := dialClient(t, addr, "\n \r\n"+long) // blank lines are dropped
	defer ben.conn.Close()
	ben.expect(t, "* welcome, "+long[:maxName]+": 2 online")
	ann.expect(t, "* "+long[:maxName]+" joined")

	ann.say(t, "hi")
	ben.expect(t, "ann: hi")
	ben.say(t, strings.Repeat("y", maxLine+1)) // too long: ben is dropped
	ann.expect(t, "* "+long[:maxName]+" left (sent a line over 1024 bytes)")
	ben.expectEnd(t)

	ann.conn.(*net.TCPConn).CloseWrite()
	ann.expectEnd(t)
}

func TestBadArguments(t *testing.T) {
	ctx := context.Background()
	if err := run(ctx, "sideways", "127.0.0.1:0", time.Second); err == nil {
		t.Error("want an error for an unknown mode")
	}
	if err := run(ctx, "demo", "127.0.0.1:0", 0); err == nil {
		t.Error("want an error for a zero stall limit")
	}
}

func TestNick(t *testing.T) {
	for in, want := range map[string]string{
		" bob\t":                             "bob",
		strings.Repeat("é", maxName):         strings.Repeat("é", maxName/2), // 2 bytes each
		strings.Repeat("a", maxName-1) + "é": strings.Repeat("a", maxName-1),
	} {
		if got := nick(in); got != want {
			t.Errorf("nick(%q) = %q, want %q", in, got, want)
		}
	}
}
