package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the server's and client's prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEchoBothSides(t *testing.T) {
	var buf syncBuffer
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, "both", "127.0.0.1:0", "ping pong"); err != nil {
		t.Fatal(err)
	}
	cancel()
	got := buf.String()
	for _, want := range []string{
		"serving on 127.0.0.1:",
		"connection from 127.0.0.1:",
		"data sent: ping pong\n",
		"data received: ping pong\n",
		"close the client socket\n",
		"server closed the connection\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "data received: ping pong\n"); n != 2 {
		t.Errorf("want the message received twice (server, client), got %d:\n%s", n, got)
	}
	if strings.Index(got, "data sent:") > strings.LastIndex(got, "server closed the connection") {
		t.Errorf("client lines out of order:\n%s", got)
	}
}

func TestEchoUnknownMode(t *testing.T) {
	if err := run(context.Background(), "sideways", "127.0.0.1:0", "x"); err == nil {
		t.Fatal("want an error for an unknown mode")
	}
}
