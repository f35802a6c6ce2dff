package main

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/exampletest"

	"github.com/rxnet/rxnet/internal/enginetest"
)

// TestMain runs the tests once per engine (internal/enginetest), each pass
// checked for leaked goroutines.
func TestMain(m *testing.M) { enginetest.Main(m) }

// syncBuffer collects both sides' prints (see exampletest.Buffer).
type syncBuffer = exampletest.Buffer

var addrRE = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)

// addrs returns the addresses in out, in order, and out with each one
// replaced by ADDR.
func addrs(out string) ([]string, string) {
	return addrRE.FindAllString(out, -1), addrRE.ReplaceAllString(out, "ADDR")
}

func TestUDPEchoBothSides(t *testing.T) {
	var buf syncBuffer
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, "both", "127.0.0.1:0", "ping pong"); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	found, masked := addrs(got)
	const want = `serving on ADDR
send: ping pong
received "ping pong" from ADDR
send "ping pong" to ADDR
received: ping pong
close the socket
connection closed
`
	if masked != want {
		t.Fatalf("output:\n%s\nwant (addresses masked):\n%s", got, want)
	}
	// serving on S, from C, to C: the server answers the client's
	// address, and the two differ.
	if len(found) != 3 || found[1] != found[2] || found[0] == found[1] || strings.HasSuffix(found[0], ":0") {
		t.Errorf("addresses %q: want the server's port, then the client's twice", found)
	}
}

func TestUDPEchoServerThenClient(t *testing.T) {
	buf := syncBuffer{Lines: make(chan string, 64)}
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvCtx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- run(srvCtx, "server", "127.0.0.1:0", "") }()

	var first string
	select {
	case first = <-buf.Lines:
	case err := <-served:
		t.Fatalf("server returned before serving: %v", err)
	case <-ctx.Done():
		t.Fatal("no output from the server")
	}
	addr, ok := strings.CutPrefix(first, "serving on ")
	if !ok {
		t.Fatalf("first line %q, want serving on ADDR", first)
	}
	// Two clients in turn: the server keeps serving.
	for _, msg := range []string{"one", "two"} {
		if err := run(ctx, "client", addr, msg); err != nil {
			t.Fatalf("client %s: %v", msg, err)
		}
	}
	stopServer()
	if err := <-served; err != nil {
		t.Fatalf("server: %v", err)
	}
	_, masked := addrs(buf.String())
	for _, msg := range []string{"one", "two"} {
		want := "send: " + msg + "\nreceived \"" + msg + "\" from ADDR\nsend \"" + msg +
			"\" to ADDR\nreceived: " + msg + "\nclose the socket\nconnection closed\n"
		if !strings.Contains(masked, want) {
			t.Errorf("output lacks\n%s\ngot:\n%s", want, masked)
		}
	}
}

func TestUDPEchoNoServer(t *testing.T) {
	var buf syncBuffer
	out = &buf
	// A port nobody listens on: bind one, then close it.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = run(ctx, "client", addr, "anyone?")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("run: %v, want an error matching ECONNREFUSED", err)
	}
	got := buf.String()
	if !strings.Contains(got, "error received: ") || !strings.HasSuffix(got, "connection closed\n") || strings.Contains(got, "received: anyone?") {
		t.Errorf("output:\n%s\nwant an error received, then connection closed", got)
	}
}

func TestUDPEchoTimeout(t *testing.T) {
	var buf syncBuffer
	out = &buf
	// A peer that reads and never answers.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	old := echoTimeout
	echoTimeout = 100 * time.Millisecond
	defer func() { echoTimeout = old }()
	err = run(context.Background(), "client", c.LocalAddr().String(), "hello?")
	if err == nil || !strings.Contains(err.Error(), "no echo") {
		t.Fatalf("run: %v, want no echo within the timeout", err)
	}
	b := make([]byte, 64)
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := c.ReadFromUDP(b)
	if err != nil || string(b[:n]) != "hello?" {
		t.Fatalf("the peer got %q, %v; want the client's datagram", b[:n], err)
	}
	if got := buf.String(); got != "send: hello?\nconnection closed\n" {
		t.Errorf("output %q", got)
	}
}

func TestUDPEchoUnknownMode(t *testing.T) {
	if err := run(context.Background(), "sideways", "127.0.0.1:0", "x"); err == nil {
		t.Fatal("want an error for an unknown mode")
	}
}
