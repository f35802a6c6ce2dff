// Command rx-wordcount counts the words of a text streamed over TCP with an
// rx pipeline: the connection's events are framed into lines
// (stream.Lines), blank lines are filtered out (Filter), each line is
// turned into its words (Map), and the words are folded into running
// counts (Scan). It prints the most frequent words, by count then word.
//
// It also shows backpressure end to end. The producer, a client in the
// same process, writes the text through a drain-aware io.Writer
// (adapters.NewWriterContext), which waits whenever the write buffer is
// over its high-water mark. The consumer is deliberately slower than the
// producer (it simulates work), and nothing piles up in between: the
// server reads at most its read limit ahead of the pipeline, then TCP
// holds the producer back, whose own buffer stops at its high-water mark
// plus one chunk. So the producer finishes only a little ahead of the
// consumer, whatever the size of the text.
//
//	go run ./examples/rx-wordcount -copies 4000 -top 10
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// out is where the program prints; tests replace it.
var out io.Writer = os.Stdout

// text is what the producer sends, -copies times over.
const text = `The stream is the program, and the program is a stream.
Lines come in and words come out; the counts go up and up.

A slow reader holds the writer back, so nothing piles up between them:
the writer waits, the reader reads, and the memory stays small.
`

// The bounds on both sides.
const (
	maxLine = 4 << 10 // longest line the server accepts

	// The server reads at most readLimit ahead of its consumer, in reads
	// of at most readLimit / eventBuffer bytes.
	readLimit   = 16 << 10
	eventBuffer = 4

	// The producer's write buffer marks and the chunks it writes.
	writeHigh = 16 << 10
	writeLow  = 4 << 10
	chunk     = 4 << 10

	// kernelSendBuffer is SO_SNDBUF on the producer's socket: small, so
	// that backpressure reaches the producer's write buffer within tens
	// of kilobytes, not within the megabytes that the kernel's autotuning
	// allows. (The server's receive buffer is left alone: shrinking it
	// under an open connection's advertised window makes TCP stall in
	// zero-window probes.)
	kernelSendBuffer = 8 << 10

	// The consumer's simulated work: it sleeps workFor every workEvery
	// lines, so it is far slower than the producer.
	workEvery = 200
	workFor   = time.Millisecond

	// What the consumer checks: the server reads at most its read limit
	// ahead of it, plus the reads in flight in the pipeline.
	aheadBound = readLimit + 3*readLimit/eventBuffer
)

func main() {
	copies := flag.Int("copies", 4000, "how many copies of the text the producer sends")
	top := flag.Int("top", 10, "how many words to print")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := run(ctx, *copies, *top); err != nil {
		log.Fatal(err)
	}
}

// located is a line with the offset, in the stream, of its end.
type located struct {
	end  int64
	line []byte
}

// lineWords is a line's words with the offset of its end.
type lineWords struct {
	end   int64
	words []string
}

// tally is the running word count, Scan's accumulator: end is the offset
// of the end of the last line counted. Scan owns counts and updates it in
// place; the consumer reads it only once the pipeline has completed.
type tally struct {
	lines, words int
	end          int64
	counts       map[string]int
}

// words splits a line into its words, lower-cased: runs of letters and
// digits.
func words(line []byte) []string {
	return strings.FieldsFunc(strings.ToLower(string(line)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// pipeline is the word count over a transport's events: a stream of
// running tallies, the last of which is the total.
func pipeline(t transport.Transport) rxgo.Observable {
	return stream.Lines(maxLine).Observable(t.Observable(), t.Abort).
		// The lines (Data frames), and an end that failed (a line over
		// maxLine); not Made, EOF, a clean Lost or flow control.
		Filter(func(v any) bool {
			e := v.(stream.Frame)
			return e.Kind == stream.Data || e.Kind == stream.Lost && e.Err != nil
		}).
		// Where each line ends in the stream (the text's lines end in a
		// bare '\n'), for measuring how far the server reads ahead. A
		// failed end becomes an rx error, which ends the pipeline.
		Scan(func(_ context.Context, acc, v any) (any, error) {
			e := v.(stream.Frame)
			if e.Kind == stream.Lost && errors.Is(e.Err, stream.ErrFrameTooLarge) {
				return nil, fmt.Errorf("a line over %d bytes: %w", maxLine, e.Err)
			}
			if e.Kind == stream.Lost {
				return nil, e.Err
			}
			at, _ := acc.(located) // nil at the first line
			return located{end: at.end + int64(len(e.Data)) + 1, line: e.Data}, nil
		}).
		Filter(func(v any) bool { return len(bytes.TrimSpace(v.(located).line)) > 0 }).
		Map(func(_ context.Context, v any) (any, error) {
			l := v.(located)
			return lineWords{end: l.end, words: words(l.line)}, nil
		}).
		Scan(func(_ context.Context, acc, v any) (any, error) {
			tl, _ := acc.(tally) // nil at the first line
			if tl.counts == nil {
				tl.counts = make(map[string]int)
			}
			lw := v.(lineWords)
			tl.lines++
			tl.words += len(lw.words)
			tl.end = lw.end
			for _, w := range lw.words {
				tl.counts[w]++
			}
			return tl, nil
		})
}

// run serves one connection, has a producer send it the text copies
// times, counts its words with a slow consumer, and prints the top ones
// and what the flow control did.
func run(ctx context.Context, copies, top int) error {
	if copies < 0 || top < 0 {
		return fmt.Errorf("-copies %d, -top %d: want numbers >= 0", copies, top)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the subscription (aborting the server's transport) on every return

	srv, err := transport.Listen(ctx, "tcp", "127.0.0.1:0",
		transport.WithReadLimit(readLimit), transport.WithEventBuffer(eventBuffer))
	if err != nil {
		return err
	}
	defer srv.Close()
	cli, err := transport.Dial(ctx, "tcp", srv.Addr().String(),
		transport.WithWriteBufferLimits(writeHigh, writeLow))
	if err != nil {
		return err
	}
	defer cli.Abort() // a no-op once it has ended
	t, err := srv.Accept(ctx)
	if err != nil {
		return err
	}
	if err := setSocketBuffer(cli, syscall.SO_SNDBUF, kernelSendBuffer); err != nil {
		return err
	}

	// The producer's events: it gets nothing but the server's EOF; the
	// loop ends with Lost, once the server has closed.
	cliDone := make(chan struct{})
	go func() {
		defer close(cliDone)
		for range cli.Events() {
		}
	}()
	// The producer: io.CopyBuffer through a drain-aware Writer, chunk by
	// chunk; each Write waits while the write buffer is over its
	// high-water mark. Then EOF: the server closes after the last line.
	src := &repeated{text: text, left: copies}
	var sendErr error
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_, sendErr = io.CopyBuffer(adapters.NewWriterContext(ctx, cli), src, make([]byte, chunk))
		if sendErr == nil {
			sendErr = cli.WriteEOF()
		}
	}()

	// The consumer, slower than the producer: it simulates work, every
	// workEvery lines. It checks how far the server has read ahead of it,
	// and how far ahead the producer is when it has sent everything: a
	// producer that nothing held back would be done before the consumer
	// had counted much at all.
	var (
		total tally
		rxErr error
		ahead int64       // the most the server read beyond what the consumer had
		lag   = int64(-1) // how far the producer was ahead when it finished; -1: behind
	)
	for item := range pipeline(t).Observe(rxgo.WithContext(ctx)) {
		if item.Error() {
			rxErr = item.E
			continue // the pipeline ends after an error
		}
		total = item.V.(tally) // the running counts; the last is the total
		ahead = max(ahead, t.Stats().BytesRead-total.end)
		if lag < 0 {
			select {
			case <-sent:
				lag = src.sent - total.end
			default:
			}
		}
		if total.lines%workEvery == 0 {
			time.Sleep(workFor)
		}
	}
	if rxErr != nil {
		cancel() // the producer may be waiting in Drain
	}
	<-sent
	<-cliDone
	switch {
	case rxErr != nil:
		return rxErr
	case ctx.Err() != nil:
		return ctx.Err()
	case sendErr != nil:
		return fmt.Errorf("producer: %w", sendErr)
	}

	cst := cli.Stats()
	fmt.Fprintf(out, "sent:   the text %d times: %d lines, %d bytes\n",
		copies, copies*strings.Count(text, "\n"), src.sent)
	fmt.Fprintf(out, "server read: %d bytes\n", t.Stats().BytesRead)
	fmt.Fprintf(out, "lines:  %d not blank\n", total.lines)
	fmt.Fprintf(out, "words:  %d, %d distinct\n", total.words, len(total.counts))
	fmt.Fprintf(out, "top %d:\n", min(top, len(total.counts)))
	for _, wc := range topWords(total.counts, top) {
		fmt.Fprintf(out, "  %7d  %s\n", wc.count, wc.word)
	}
	fmt.Fprintf(out, "flow control, with a consumer slower than the producer:\n")
	fmt.Fprintf(out, "  producer held back (its writes paused): %v\n", cst.WritePauses > 0)
	fmt.Fprintf(out, "  producer's write buffer stayed within high-water mark + one chunk (%d + %d bytes): %v\n",
		writeHigh, chunk, cst.PeakWriteBuffer <= writeHigh+chunk)
	fmt.Fprintf(out, "  server read at most %d bytes ahead of the consumer: %v\n", aheadBound, ahead <= aheadBound)
	fmt.Fprintf(out, "  producer finished only once the consumer had counted half the text: %v\n", lag <= src.sent/2)
	return nil
}

type wordCount struct {
	word  string
	count int
}

// topWords returns the n most frequent words, by count (descending) then
// word.
func topWords(counts map[string]int, n int) []wordCount {
	all := make([]wordCount, 0, len(counts))
	for w, c := range counts {
		all = append(all, wordCount{w, c})
	}
	slices.SortFunc(all, func(a, b wordCount) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.word, b.word))
	})
	return all[:min(n, len(all))]
}

// repeated reads text left times over, without holding more than one copy
// (and it has no WriteTo, so io.CopyBuffer writes in chunks).
type repeated struct {
	text string
	left int
	pos  int
	sent int64
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.left == 0 || len(r.text) == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		k := copy(p[n:], r.text[r.pos:])
		n += k
		r.pos += k
		if r.pos == len(r.text) {
			r.pos = 0
			r.left--
		}
	}
	r.sent += int64(n)
	return n, nil
}

// setSocketBuffer sets a socket buffer option (SO_SNDBUF) on t's socket,
// through its RawConn, which works on every Unix (rxnet documents
// WithSendBuffer for datagram endpoints, on Linux).
func setSocketBuffer(t transport.Transport, opt, n int) error {
	v, ok := t.ExtraInfo(transport.InfoSocket)
	if !ok {
		return errors.New("no socket")
	}
	rc, ok := v.(syscall.RawConn)
	if !ok {
		return fmt.Errorf("socket is a %T", v)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, n)
	}); err != nil {
		return err
	}
	return serr
}
