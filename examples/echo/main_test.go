package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/exampletest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer collects both sides' prints (see exampletest.Buffer).
type syncBuffer = exampletest.Buffer

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
