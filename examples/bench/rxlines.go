package main

// The line-echo matrix (-lines) measures rxnet's framing stage on the rx
// path against the standard library's bufio.Scanner over a net.Conn, with
// the TCP matrix's machinery: the same rounds, server child processes,
// rusage and medians, and the same load client, except that each message
// is one line: -size bytes, the last one '\n'.
//
// Servers (hidden from -modes without -lines), each echoing every line
// back as it is framed:
//
//	lines-netconn  the standard library: a goroutine per connection, a
//	               bufio.Scanner over the net.Conn, and one conn.Write of
//	               the line and its '\n' per line (the baseline)
//	lines-rx       transport.Listen and Accept, a goroutine per connection
//	               observing stream.Lines(0).Observable(t.Observable(),
//	               t.Abort) with a context cancelled at the end, writing
//	               each frame back with Framer.WriteFrame(t, frame)
//	lines-chan     the same over a channel: ranging over
//	               stream.Lines(0).Frames(t.Events(), t.Abort)
//	lines-pooled   lines-chan over transports made with
//	               transport.WithPooledData, releasing each frame once
//	               written (issue 14)
//
// The idle and flood passes do not run.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// linesBaseline is the mode every -lines ratio is taken against.
const linesBaseline = "lines-netconn"

// linesMinSize and linesMaxSize bound -size with -lines: a line is at
// least one byte and its '\n', and at most bufio.Scanner's default
// buffer, which holds the line and its '\n' (stream.Lines(0) accepts as
// much).
const (
	linesMinSize = 2
	linesMaxSize = bufio.MaxScanTokenSize
)

// linesServers are the line-echo servers, by mode name. init adds them to
// servers, so that the server child (-serve) finds them; checkLines keeps
// them out of the other matrices and those modes out of a -lines run.
var linesServers = map[string]serveFunc{
	"lines-netconn": serveLinesNetConn,
	"lines-rx":      serveLinesRx,
	"lines-chan":    serveLinesChan,
	"lines-pooled":  serveLinesPooled,
}

// linesModes is the default -lines matrix, baseline first.
var linesModes = []string{"lines-netconn", "lines-rx", "lines-chan", "lines-pooled"}

func init() {
	for name, f := range linesServers {
		servers[name] = f
	}
}

// checkLines checks the modes and sizes against the kind of run: line
// modes and line sizes with -lines, other modes without.
func checkLines(c *config) error {
	if c.lines && c.udp {
		return fmt.Errorf("-lines and -udp are separate matrices: give one")
	}
	return checkMatrix(c, matrix{
		flag: "-lines", on: c.lines, servers: linesServers, modes: linesModes,
		kind: "line-echo", outside: "not a line-echo mode", item: "line", min: linesMinSize, max: linesMaxSize,
		note: ", its '\\n' included",
	})
}

// serveLinesNetConn is the baseline: a goroutine per connection scanning
// lines with bufio.Scanner and writing each back with its '\n'.
func serveLinesNetConn(ctx context.Context, addr string) (net.Addr, error) {
	return serveEachNetConn(ctx, addr, echoLinesNetConn)
}

func echoLinesNetConn(c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	var out []byte
	for sc.Scan() {
		out = append(append(out[:0], sc.Bytes()...), '\n')
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// serveLinesRx frames each transport's Observable with stream.Lines and
// writes every frame back in the observer, waiting while writing is
// paused (drain). The subscription's context is cancelled at the end, as
// docs/rx.md asks; the transports are half-open after EOF and the
// observer closes them at EOF, as serveRx does.
func serveLinesRx(ctx context.Context, addr string) (net.Addr, error) {
	lines := stream.Lines(0)
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		frames := lines.Observable(t.Observable(), t.Abort)
		for item := range frames.Observe(rxgo.WithContext(ctx)) {
			e, ok := item.V.(stream.Event)
			switch {
			case !ok:
			case e.Kind == stream.Data:
				_ = lines.WriteFrame(t, e.Data)
				drain(ctx, t)
			case e.Kind == stream.EOF:
				t.Close() // flushes the replies, then closes
			}
		}
	}, transport.WithHalfClose())
}

// serveLinesChan frames each transport's event channel with
// stream.Lines and writes every frame back, waiting while writing is
// paused (drain).
func serveLinesChan(ctx context.Context, addr string) (net.Addr, error) {
	return serveFramedLines(ctx, addr)
}

// serveLinesPooled is serveLinesChan over pooled events
// (transport.WithPooledData): the framer releases the reads it has cut
// into frames, and the server each frame once written.
func serveLinesPooled(ctx context.Context, addr string) (net.Addr, error) {
	return serveFramedLines(ctx, addr, transport.WithPooledData())
}

// serveFramedLines listens on addr with opts, frames each transport's
// event channel with stream.Lines and writes every frame back, then
// releases it (which does nothing unless the frame is pooled), waiting
// while writing is paused (drain).
func serveFramedLines(ctx context.Context, addr string, opts ...transport.Option) (net.Addr, error) {
	lines := stream.Lines(0)
	return acceptEach(ctx, addr, func(ctx context.Context, t transport.Transport) {
		for e := range lines.Frames(t.Events(), t.Abort) {
			if e.Kind == stream.Data {
				_ = lines.WriteFrame(t, e.Data)
				e.Release()
				drain(ctx, t)
			}
		}
	}, opts...)
}

// lineMessage is the load client's message for -lines: size bytes, the
// last one '\n' and no other.
func lineMessage(size int) []byte {
	msg := bytes.Repeat([]byte("rxnet-bench "), size/12+1)[:size]
	msg[size-1] = '\n'
	return msg
}

// reportLines prints one table per line size for a -lines run, with the
// per-round figures.
func reportLines(out io.Writer, res *results) {
	reportStream(out, res, linesBaseline, "Line echo", "lines", func(out io.Writer, s, base summary) {
		printCPUTarget(out, s, base, "lines-pooled", 1.2)
	})
}
