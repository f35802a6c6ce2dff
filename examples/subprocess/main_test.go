package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the child mode when run() started this test binary as its
// child (os.Executable is the test binary here), and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == childFlag {
			args = args[1:]
		}
		os.Exit(childMain(args))
	}
	// The children inherit this: under the race detector a process sleeps
	// a second at exit unless told not to.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	goleak.VerifyTestMain(m)
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name        string
		lines, code int
		want        string
	}{
		{"exit 3", 5000, 3, `sent:    5000 lines, 273893 bytes
stdout:  5000 lines, 273893 bytes
first:   "LINE 1: THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG\n"
matches: true
exit:    3
`},
		{"exit 0", 2, 0, `sent:    2 lines, 104 bytes
stdout:  2 lines, 104 bytes
first:   "LINE 1: THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG\n"
matches: true
exit:    0
`},
		{"nothing to send", 0, 7, `sent:    0 lines, 0 bytes
stdout:  0 lines, 0 bytes
first:   ""
matches: true
exit:    7
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			out = &buf
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := run(ctx, tc.lines, tc.code); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("output:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	var buf bytes.Buffer
	out = &buf
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, 10, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("run with a cancelled context: %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("printed %q", buf.String())
	}
}

func TestRunBadCode(t *testing.T) {
	if err := run(context.Background(), 1, 300); err == nil {
		t.Fatal("want an error for exit code 300")
	}
}

func TestUpperCopy(t *testing.T) {
	var w bytes.Buffer
	if err := upperCopy(&w, strings.NewReader("ab\ncd")); err != nil {
		t.Fatal(err)
	}
	if w.String() != "AB\nCD" {
		t.Errorf("got %q", w.String())
	}
}
