package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
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

// TestEchoBothSides runs both sides and checks that the output is the
// seed's conversation, line for line and nothing else: the seed's message
// by default, another one with -message.
func TestEchoBothSides(t *testing.T) {
	for _, msg := range []string{seedMessage, "ping pong"} {
		t.Run(msg, func(t *testing.T) {
			var buf syncBuffer
			out = &buf
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := run(ctx, "both", "127.0.0.1:0", msg); err != nil {
				t.Fatal(err)
			}
			checkConversation(t, buf.String(), msg)
		})
	}
}

// checkConversation checks got against the seed's server and client
// prints, with the addresses replaced by ADDR.
func checkConversation(t *testing.T, got, msg string) {
	t.Helper()
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`)
	lines := strings.Split(strings.TrimSuffix(addr.ReplaceAllString(got, "ADDR"), "\n"), "\n")
	want := []string{
		"serving on ADDR",
		"connection from ADDR",
		"data received: " + msg, // the server's
		"data sent: " + msg,
		"data received: " + msg, // the client's
		"server closed the connection",
	}
	// The two sides print concurrently, so compare as sets, then each
	// side's order.
	if !slices.Equal(slices.Sorted(slices.Values(lines)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("output is not the seed's conversation:\n%s\nwant the lines:\n%s", got, strings.Join(want, "\n"))
	}
	if lines[0] != "serving on ADDR" {
		t.Errorf("the server does not print first:\n%s", got)
	}
	if slices.Index(lines, "data sent: "+msg) > slices.Index(lines, "server closed the connection") ||
		slices.Index(lines, "connection from ADDR") > slices.Index(lines, "data received: "+msg) {
		t.Errorf("lines out of order:\n%s", got)
	}
}

func TestEchoUnknownMode(t *testing.T) {
	if err := run(context.Background(), "sideways", "127.0.0.1:0", "x"); err == nil {
		t.Fatal("want an error for an unknown mode")
	}
}
