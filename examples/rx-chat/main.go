// Command rx-chat is a line-based chat server written as rx pipelines:
// the server's connections are an Observable (Server.Observable), each
// connection's events are framed into lines (stream.Lines), blank lines
// are filtered out, and every line one client sends is broadcast to every
// other connected client.
//
// Writes are drain-aware and memory stays bounded: a Write never blocks,
// and when a client's write buffer goes over its (small) high-water mark
// the room waits for it, at most -stall long. A client that stays stalled
// longer (it does not read) is cut off instead of buffering without end:
//
//	cut off slow client dave after 500ms stalled
//
// So no client's buffer ever holds more than the high-water mark plus one
// message, and a slow client holds the room back for at most -stall.
//
// Run without flags, it starts the server on a free local port, connects
// four scripted clients in-process (alice, bob and carol read what they
// get; dave never reads), has alice flood the room, and prints what each
// reader received, the cut-off and the server's counters. With -mode
// server it serves on -addr until interrupted (try nc 127.0.0.1 PORT: the
// first line you type is your name).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// out is where the server and the demo print; tests replace it.
var out io.Writer = os.Stdout

// The server's bounds.
const (
	maxLine = 1024 // longest line a client may send; a longer one ends it
	maxName = 32   // a name is cut to this many bytes
	// maxMessage is the longest line the server sends: "name: line\n".
	maxMessage = maxName + len(": ") + maxLine + len("\n")

	// The write buffer's high- and low-water marks for every client: a
	// client's buffer never holds more than writeHigh + maxMessage.
	writeHigh = 4 << 10
	writeLow  = 1 << 10

	// readLimit bounds what the server reads ahead of the room for each
	// client: a sender the room holds back is held back by TCP beyond it.
	readLimit = 16 << 10

	// kernelSendBuffer is SO_SNDBUF for every client socket: the kernel's
	// own buffer is kept small too, so that a client that stops reading
	// shows up in the write buffer (and is cut off) within kilobytes, not
	// within the megabytes that the kernel's autotuning allows.
	kernelSendBuffer = 8 << 10
)

// lines frames the clients' input and encodes what the server sends.
var lines = stream.Lines(maxLine)

func main() {
	mode := flag.String("mode", "demo", "demo (a scripted run against an in-process server) or server")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	stall := flag.Duration("stall", 500*time.Millisecond, "cut off a client whose writes stay paused this long")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *mode == "demo" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	if err := run(ctx, *mode, *addr, *stall); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, mode, addr string, stall time.Duration) error {
	if stall <= 0 {
		return fmt.Errorf("-stall %v: want a positive duration", stall)
	}
	switch mode {
	case "server":
		srv, err := listen(ctx, addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "serving on %v; the first line a client sends is its name\n", srv.Addr())
		c := newChat(stall)
		return c.serve(ctx, srv) // until ctx ends: that closes the server
	case "demo":
		_, err := demo(ctx, addr, stall)
		return err
	}
	return fmt.Errorf("unknown -mode %q (want demo or server)", mode)
}

// listen starts the chat's server: every client it accepts gets the small
// write-buffer limits and read limit.
func listen(ctx context.Context, addr string) (*transport.Server, error) {
	return transport.Listen(ctx, "tcp", addr,
		transport.WithWriteBufferLimits(writeHigh, writeLow),
		transport.WithReadLimit(readLimit))
}

// chat is the room: one hub goroutine owns the members and does every
// write, so writes to a client never race and every reader sees the
// messages in one order.
type chat struct {
	stall time.Duration
	ops   chan op
	// cutoffs, when not nil, hears of each client cut off, after the room
	// has been told; the demo waits on it.
	cutoffs chan cutoff
}

// member is a client that has sent its name.
type member struct {
	name string
	t    transport.Transport
	gone bool // left or cut off: nothing more is written to it
}

type opKind int

const (
	join opKind = iota
	say
	leave
)

// op is what a client's pipeline asks of the hub.
type op struct {
	kind opKind
	m    *member
	text string // say: the line; leave: why, if not a plain goodbye
}

// cutoff reports a client cut off, with the largest its write buffer ever
// was.
type cutoff struct {
	name string
	peak int
}

func newChat(stall time.Duration) *chat {
	return &chat{stall: stall, ops: make(chan op)}
}

// serve runs the room over srv's connections until srv stops accepting
// (Shutdown or Close) or ctx ends (which closes srv), then waits for every
// client's pipeline and the hub to end.
func (c *chat) serve(ctx context.Context, srv *transport.Server) error {
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		c.hub(hubCtx)
	}()
	defer func() {
		stopHub()
		<-hubDone
	}()

	var clients sync.WaitGroup
	defer clients.Wait() // before the hub stops: their goodbyes go through it

	// The connections as an rx stream; the subscription's context closes
	// the server when it is cancelled. (rxgo's FlatMap subscribes to one
	// inner Observable at a time, so each connection's pipeline gets a
	// goroutine of its own instead.)
	conns := srv.Observable().Observe(rxgo.WithContext(ctx))
	for item := range conns {
		if item.Error() {
			srv.Close()
			for range conns { // read it to its end
			}
			return item.E
		}
		t := item.V.(transport.Transport)
		clients.Go(func() { c.client(ctx, t) })
	}
	return nil
}

// client runs one connection's pipeline: its events framed into lines,
// blank lines dropped, each line turned into an op for the hub. The first
// line is the client's name.
func (c *chat) client(ctx context.Context, t transport.Transport) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the subscription, aborting t, on every return
	if err := setSendBuffer(t, kernelSendBuffer); err != nil {
		fmt.Fprintf(out, "setting SO_SNDBUF: %v\n", err)
	}

	pipeline := lines.Observable(t.Observable(), t.Abort).
		Filter(func(v any) bool {
			e := v.(stream.Frame)
			switch e.Kind {
			case stream.Data: // one line
				return len(bytes.TrimSpace(e.Data)) > 0
			case stream.Lost: // the end, and why
				return true
			}
			return false // Made, EOF, PauseWriting, ResumeWriting: the hub reads Writable
		}).
		Map(func(_ context.Context, v any) (any, error) {
			if e := v.(stream.Frame); e.Kind == stream.Data {
				return string(e.Data), nil
			}
			return v, nil // Lost
		})

	var m *member // set by the first line
	why := ""
	for item := range pipeline.Observe(rxgo.WithContext(ctx)) {
		if item.Error() { // the events already had a consumer: cannot happen here
			fmt.Fprintf(out, "client pipeline: %v\n", item.E)
			return
		}
		switch v := item.V.(type) {
		case string:
			o := op{kind: say, m: m, text: v}
			if m == nil {
				m = &member{name: nick(v), t: t}
				o = op{kind: join, m: m}
			}
			if !c.send(ctx, o) {
				return
			}
		case stream.Event: // Lost, the last item
			if errors.Is(v.Err, stream.ErrFrameTooLarge) {
				why = fmt.Sprintf("sent a line over %d bytes", maxLine)
			}
		}
	}
	if m != nil {
		c.send(ctx, op{kind: leave, m: m, text: why})
	}
}

// send hands o to the hub; the hub's pace is the client's: while the hub
// waits for a slow reader, the senders wait here and their transports
// stop reading.
func (c *chat) send(ctx context.Context, o op) bool {
	select {
	case c.ops <- o:
		return true
	case <-ctx.Done():
		return false
	}
}

// nick makes a name of a client's first line.
func nick(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxName {
		s = strings.ToValidUTF8(s[:maxName], "") // drops a rune cut in two
	}
	return s
}

// hub owns the room: it handles the ops in order and does every write.
func (c *chat) hub(ctx context.Context) {
	var members []*member // in the order they joined
	others := func(m *member) []*member {
		var to []*member
		for _, o := range members {
			if o != m {
				to = append(to, o)
			}
		}
		return to
	}
	remove := func(m *member) {
		m.gone = true
		for i, o := range members {
			if o == m {
				members = append(members[:i], members[i+1:]...)
				return
			}
		}
	}
	// tell sends msg to each of to, then cuts off whoever stalled and
	// tells the rest, who may stall in turn.
	var tell func(to []*member, msg string)
	tell = func(to []*member, msg string) {
		cut := c.deliver(ctx, to, msg)
		for _, m := range cut {
			m.t.Abort() // drops its buffer; its pipeline ends with Lost
			remove(m)
			fmt.Fprintf(out, "cut off slow client %s after %v stalled\n", m.name, c.stall)
		}
		for _, m := range cut {
			tell(members, fmt.Sprintf("* %s was cut off (stalled %v)", m.name, c.stall))
			if c.cutoffs != nil {
				select {
				case c.cutoffs <- cutoff{name: m.name, peak: m.t.Stats().PeakWriteBuffer}:
				default:
				}
			}
		}
	}

	for {
		var o op
		select {
		case o = <-c.ops:
		case <-ctx.Done():
			return
		}
		switch o.kind {
		case join:
			rest := others(o.m)
			members = append(members, o.m)
			tell([]*member{o.m}, fmt.Sprintf("* welcome, %s: %d online", o.m.name, len(members)))
			tell(rest, fmt.Sprintf("* %s joined", o.m.name))
		case say:
			if !o.m.gone {
				tell(others(o.m), o.m.name+": "+o.text)
			}
		case leave:
			if !o.m.gone {
				remove(o.m)
				msg := "* " + o.m.name + " left"
				if o.text != "" {
					msg += " (" + o.text + ")"
				}
				tell(members, msg)
			}
		}
	}
}

// deliver writes msg as a line to each of to, then waits while any of
// them is paused (its buffer over the high-water mark), against a single
// deadline c.stall away, and returns those still paused then.
//
// Every member was writable before (deliver waited for it last time, or
// it was cut off), so its buffer held at most writeHigh, and after this
// Write at most writeHigh + maxMessage: the bound that keeps memory flat.
// Writing to everyone first, then waiting, lets the fast readers have the
// line at once; only the next line waits for a slow one.
func (c *chat) deliver(ctx context.Context, to []*member, msg string) (stalled []*member) {
	frame, err := lines.Append(nil, []byte(msg))
	if err != nil { // cannot happen: msg is short and holds no '\n'
		fmt.Fprintf(out, "encoding %q: %v\n", msg, err)
		return nil
	}
	for _, m := range to {
		m.t.Write(frame) // never blocks; an error means it is leaving, and its leave op follows
	}
	wait, cancel := context.WithTimeout(ctx, c.stall)
	defer cancel()
	for _, m := range to {
		err := m.t.Drain(wait) // nil at once unless paused
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			stalled = append(stalled, m)
		}
	}
	return stalled
}

// setSendBuffer sets SO_SNDBUF on t's socket, through its RawConn, which
// works on every Unix (rxnet documents WithSendBuffer for datagram
// endpoints, on Linux).
func setSendBuffer(t transport.Transport, n int) error {
	v, ok := t.ExtraInfo(transport.InfoSocket)
	if !ok {
		return nil
	}
	rc, ok := v.(syscall.RawConn)
	if !ok {
		return nil
	}
	return control(rc, syscall.SO_SNDBUF, n)
}

// control sets the socket option opt (at SOL_SOCKET) to n.
func control(rc syscall.RawConn, opt, n int) error {
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, n)
	}); err != nil {
		return err
	}
	return serr
}

// The demo.
