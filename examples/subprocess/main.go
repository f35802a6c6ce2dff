// Command subprocess runs a child process with rxnet's subprocess
// transport: it feeds the child's stdin with drain-aware writes, streams
// the child's stdout through an rx pipeline that counts lines and bytes as
// they arrive, and prints the child's exit code (asyncio's
// subprocess_exec with a SubprocessProtocol, as an event stream).
//
// The child is this very program, run again in a hidden child mode that
// copies its stdin to its stdout upper-cased, so the example needs no
// shell and no other program. Both sides bound what they hold: the
// parent writes only while the child's stdin is not paused (Drain) and
// keeps at most maxFirst bytes of a line; the child reads a line of at
// most maxLine bytes, and its writes block while the parent does not
// read:
//
//	go run ./examples/subprocess -lines 5000 -exit 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strconv"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// out is where the parent prints; tests replace it.
var out io.Writer = os.Stdout

// childFlag is the hidden first argument that puts the program in child
// mode; childEnv is set in the child's environment too, for a test binary,
// which dispatches on it in TestMain before parsing its own flags.
const (
	childFlag = "-child"
	childEnv  = "RXNET_EXAMPLE_SUBPROCESS_CHILD"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == childFlag {
		os.Exit(childMain(os.Args[2:]))
	}
	lines := flag.Int("lines", 5000, "how many lines to send to the child")
	code := flag.Int("exit", 3, "the exit code the child ends with (0-125)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *lines, *code); err != nil {
		log.Fatal(err)
	}
}

// childMain is the child mode: it copies stdin to stdout upper-cased and
// exits with the code given by -exit.
func childMain(args []string) int {
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	code := fs.Int("exit", 0, "exit code")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := upperCopy(os.Stdout, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return *code
}

// maxLine is the longest line the child accepts, its newline included:
// it reads a line into a buffer of that size, so a parent that sends a
// longer one (or no newline at all) ends it with an error instead of
// growing its memory.
const maxLine = 4 << 10

// upperCopy copies r to w upper-cased, line by line. A line over maxLine
// bytes is an error. Its writes block while w (the stdout pipe) is full:
// a parent that stops reading holds the child back.
func upperCopy(w io.Writer, r io.Reader) error {
	bw := bufio.NewWriter(w)
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("a line over %d bytes", maxLine)
		}
		bw.Write(bytes.ToUpper(line))
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil {
			return err
		}
	}
}

// counts is the rx pipeline's running state: what came on the child's
// stdout so far.
type counts struct {
	lines, bytes int
	first        []byte // the first line, up to maxFirst bytes
	crc          uint32 // CRC-32 of everything
}

// maxFirst bounds how much of the first line counts keeps: a child whose
// output has no newline must not grow it without end.
const maxFirst = 256

// add returns c with data, the next bytes of stdout, counted.
func (c counts) add(data []byte) counts {
	if len(c.first) < maxFirst && (c.first == nil || c.first[len(c.first)-1] != '\n') {
		rest := data
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[:i+1]
		}
		c.first = append(c.first, rest[:min(len(rest), maxFirst-len(c.first))]...)
	}
	c.lines += bytes.Count(data, []byte{'\n'})
	c.bytes += len(data)
	c.crc = crc32.Update(c.crc, crc32.IEEETable, data)
	return c
}

// line is the i-th line the parent sends.
func line(i int) []byte {
	return fmt.Appendf(nil, "line %d: the quick brown fox jumps over the lazy dog\n", i)
}

// run starts the child, feeds it n lines, counts what it sends back and
// prints the totals and the child's exit code.
func run(ctx context.Context, n, code int) error {
	if code < 0 || code > 125 {
		return fmt.Errorf("exit code %d out of 0-125", code)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the subscription (and kills the child) on every return

	cmd := exec.Command(exe, childFlag, "-exit", strconv.Itoa(code))
	cmd.Env = append(os.Environ(), childEnv+"=1")
	// stdin and stdout are pipes (the default); the child's complaints, if
	// any, go to our stderr.
	t, err := transport.Exec(ctx, cmd, transport.WithStderr(transport.Inherit))
	if err != nil {
		return err
	}
	stdin, ok := t.Stdin()
	if !ok {
		return errors.New("no stdin pipe")
	}

	// The writer: Write never blocks, Drain waits while the pipe's buffer
	// is over its high-water mark (asyncio's write + await drain()). It
	// must run beside the reader: the child stops reading its stdin when
	// nobody reads its stdout.
	sent := make(chan error, 1)
	want := crc32.NewIEEE()
	wantBytes := 0
	go func() {
		sent <- feed(ctx, stdin, n, func(p []byte) {
			want.Write(bytes.ToUpper(p))
			wantBytes += len(p)
		})
	}()

	// The reader: keep the stdout data, fold it into running counts. The
	// Observable completes after Lost, which comes after Exited.
	running := t.Observable(rxgo.WithContext(ctx)).
		Filter(func(v any) bool {
			e := v.(stream.Event)
			return e.Kind == stream.PipeData && e.FD == 1
		}).
		Scan(func(_ context.Context, acc, v any) (any, error) {
			c, _ := acc.(counts) // nil at the first item
			return c.add(v.(stream.Event).Data), nil
		})
	var total counts
	var rxErr error
	for item := range running.Observe(rxgo.WithContext(ctx)) {
		if item.Error() {
			rxErr = item.E
			cancel() // aborts the transport: the writer's Drain returns
			continue
		}
		total = item.V.(counts) // the running counts; the last is the total
	}
	werr := <-sent
	if rxErr != nil {
		return rxErr
	}
	if werr != nil {
		return fmt.Errorf("writing to the child: %w", werr)
	}

	rc, ok := t.ReturnCode()
	if !ok {
		return errors.New("the Observable completed before the child exited")
	}
	fmt.Fprintf(out, "sent:    %d lines, %d bytes\n", n, wantBytes)
	fmt.Fprintf(out, "stdout:  %d lines, %d bytes\n", total.lines, total.bytes)
	fmt.Fprintf(out, "first:   %q\n", total.first)
	fmt.Fprintf(out, "matches: %v\n", total.crc == want.Sum32() && total.bytes == wantBytes)
	fmt.Fprintf(out, "exit:    %d\n", rc)
	return nil
}

// feed writes n lines to w, calling each with every line written, waiting
// in Drain while w is paused, then sends EOF: on a pipe WriteEOF flushes
// and closes, and the child reads EOF. WriteEOF returns before the flush,
// so feed waits for the pipe's end (Done) to learn from Err whether the
// child got every byte (a child gone early is a broken pipe).
func feed(ctx context.Context, w transport.WriteTransport, n int, each func([]byte)) error {
	for i := 1; i <= n; i++ {
		p := line(i)
		if _, err := w.Write(p); err != nil {
			return err
		}
		each(p)
		if err := w.Drain(ctx); err != nil {
			return err
		}
	}
	if err := w.WriteEOF(); err != nil {
		return err
	}
	<-w.Done() // ends with the flush, or with the transport if ctx aborts it
	return w.Err()
}
