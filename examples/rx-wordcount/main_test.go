package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"
	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const flowOK = `flow control, with a consumer slower than the producer:
  producer held back (its writes paused): true
  producer's write buffer stayed within high-water mark + one chunk (16384 + 4096 bytes): true
  server read at most 28672 bytes ahead of the consumer: true
  producer finished only once the consumer had counted half the text: true
`

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name        string
		copies, top int
		want        string
		prefix      bool // the flow-control lines depend on timing for a small text
	}{
		{"default", 4000, 10, `sent:   the text 4000 times: 20000 lines, 1004000 bytes
server read: 1004000 bytes
lines:  16000 not blank
words:  192000, 29 distinct
top 10:
    32000  the
    16000  and
    12000  up
     8000  a
     8000  come
     8000  is
     8000  program
     8000  reader
     8000  stream
     8000  writer
` + flowOK, false},
		{"once", 1, 5, `sent:   the text 1 times: 5 lines, 251 bytes
server read: 251 bytes
lines:  4 not blank
words:  48, 29 distinct
top 5:
        8  the
        4  and
        3  up
        2  a
        2  come
`, true},
		{"nothing", 0, 10, `sent:   the text 0 times: 0 lines, 0 bytes
server read: 0 bytes
lines:  0 not blank
words:  0, 0 distinct
top 0:
` + strings.Replace(flowOK, "paused): true", "paused): false", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			out = &buf
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := run(ctx, tc.copies, tc.top); err != nil {
				t.Fatal(err)
			}
			got := buf.String()
			if tc.prefix {
				got = got[:strings.Index(got, "flow control")]
			}
			if got != tc.want {
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
	if err := run(ctx, 10, 3); !errors.Is(err, context.Canceled) {
		t.Fatalf("run with a cancelled context: %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("printed %q", buf.String())
	}
}

func TestRunBadArguments(t *testing.T) {
	if err := run(context.Background(), -1, 3); err == nil {
		t.Error("want an error for -copies -1")
	}
	if err := run(context.Background(), 1, -3); err == nil {
		t.Error("want an error for -top -3")
	}
}

// TestPipelineLineTooLong: a line over maxLine aborts the connection and
// ends the pipeline with an rx error wrapping stream.ErrFrameTooLarge,
// after the tallies of the lines before it.
func TestPipelineLineTooLong(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := transport.Dial(ctx, "tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Abort()
	tr, err := srv.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cli.Write([]byte("one two\n\nthree\n" + strings.Repeat("x", maxLine+1) + "\nfour\n"))

	var last tally
	var rxErr error
	for item := range pipeline(tr).Observe(rxgo.WithContext(ctx)) {
		if item.Error() {
			rxErr = item.E
			continue
		}
		last = item.V.(tally)
	}
	if !errors.Is(rxErr, stream.ErrFrameTooLarge) {
		t.Errorf("pipeline error %v, want stream.ErrFrameTooLarge", rxErr)
	}
	if last.lines != 2 || last.words != 3 || last.end != int64(len("one two\n\nthree\n")) {
		t.Errorf("last tally: %d lines, %d words, end %d; want 2, 3, %d",
			last.lines, last.words, last.end, len("one two\n\nthree\n"))
	}
	for ev := range cli.Events() { // the server aborted: the client ends too
		if ev.Kind == stream.Data {
			t.Errorf("client got %v", ev)
		}
	}
}

func TestTopWords(t *testing.T) {
	got := topWords(map[string]int{"b": 2, "a": 2, "c": 3, "d": 1}, 3)
	want := []wordCount{{"c", 3}, {"a", 2}, {"b", 2}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got := topWords(map[string]int{"a": 1}, 5); len(got) != 1 {
		t.Errorf("top 5 of one word: %v", got)
	}
}

func TestWords(t *testing.T) {
	got := strings.Join(words([]byte("The stream, the PROGRAM; it's 2 streams!")), "|")
	if want := "the|stream|the|program|it|s|2|streams"; got != want {
		t.Errorf("words: %q, want %q", got, want)
	}
}

func TestRepeated(t *testing.T) {
	r := &repeated{text: "abc\n", left: 3}
	b, err := io.ReadAll(io.LimitReader(r, 100))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "abc\nabc\nabc\n" || r.sent != 12 {
		t.Errorf("read %q, sent %d", b, r.sent)
	}
}
