package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The demo: scripted clients against the chat server, in one process.

// The demo's script.
const (
	floodLines = 300 // alice's flood: lines of floodSize bytes, '\n' included
	floodSize  = 512
)

// report is what the demo measured, for the tests.
type report struct {
	slowPeak  int // the largest the slow client's write buffer was
	accepted  int64
	open      int
	bytesRead int64
}

// demo runs the server and the scripted clients against it, printing what
// happens.
func demo(ctx context.Context, addr string, stall time.Duration) (rep report, err error) {
	srv, err := listen(ctx, addr)
	if err != nil {
		return rep, err
	}
	c := newChat(stall)
	c.cutoffs = make(chan cutoff, 4)
	serveCtx, stopServing := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- c.serve(serveCtx, srv) }()
	stopped, serr := false, error(nil)
	stop := func() error { // cancelling serve's context closes the server
		if !stopped {
			stopped = true
			stopServing()
			serr = <-served
		}
		return serr
	}
	var peers []*peer
	defer func() {
		for _, p := range peers {
			p.conn.Close()
		}
		if err2 := stop(); err == nil {
			err = err2
		}
		for _, p := range peers {
			<-p.readDone
		}
	}()

	fmt.Fprintf(out, "chat: alice, bob and carol read, dave never does; write buffer %d/%d bytes, stall limit %v\n",
		writeHigh, writeLow, stall)
	dial := func(name string, reads bool) (*peer, error) {
		p, err := dialPeer(ctx, srv.Addr().String(), name, reads)
		if err == nil {
			peers = append(peers, p)
			err = p.say(name) // the first line is the name
		}
		return p, err
	}
	// Join one at a time, each waiting until the others have seen it.
	var readers []*peer
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		p, err := dial(name, name != "dave")
		if err != nil {
			return rep, err
		}
		if p.reads {
			if err := p.waitLine(ctx, fmt.Sprintf("* welcome, %s: %d online", name, len(readers)+1)); err != nil {
				return rep, err
			}
		}
		for _, r := range readers {
			if err := r.waitLine(ctx, "* "+name+" joined"); err != nil {
				return rep, err
			}
		}
		if p.reads {
			readers = append(readers, p)
		}
	}
	alice, bob, carol := readers[0], readers[1], readers[2]

	// A conversation; each line is awaited where it must arrive.
	for _, l := range []struct {
		from *peer
		text string
	}{{alice, "hello, room"}, {bob, "hi alice"}} {
		if err := l.from.say(l.text); err != nil {
			return rep, err
		}
		for _, r := range readers {
			if r != l.from {
				if err := r.waitLine(ctx, l.from.name+": "+l.text); err != nil {
					return rep, err
				}
			}
		}
	}

	// The flood: far more than dave's socket buffers hold.
	fmt.Fprintf(out, "alice floods the room: %d lines of %d bytes\n", floodLines, floodSize)
	flooded := make(chan error, 1)
	go func() {
		var b []byte
		for i := 1; i <= floodLines; i++ {
			b = append(b, floodLine(i)...)
		}
		_, err := alice.conn.Write(b) // blocks while the room holds alice back
		flooded <- err
	}()
	// Wait for both: dave's cut-off, and alice's Write, which returns once
	// the server (or the kernel) has taken the whole flood.
	var cut cutoff
	for got := 0; got < 2; got++ {
		select {
		case cut = <-c.cutoffs:
			fmt.Fprintf(out, "%s's write buffer peaked within high-water mark + one message (%d + %d bytes): %v\n",
				cut.name, writeHigh, maxMessage, cut.peak <= writeHigh+maxMessage)
		case err := <-flooded:
			if err != nil {
				return rep, err
			}
		case <-ctx.Done():
			return rep, fmt.Errorf("waiting for the flood and dave's cut-off: %w", ctx.Err())
		}
	}
	rep.slowPeak = cut.peak
	for _, r := range []*peer{bob, carol} {
		if err := r.waitFor(ctx, "the whole flood", func(got []string) bool {
			n := countFlood(got)
			return n == floodLines || n < 0 // the transcript shows a flood out of order
		}); err != nil {
			return rep, err
		}
	}

	// Goodbyes: carol says bye and leaves, then alice, then bob. A client
	// leaves by closing its write side: the server reads EOF, says goodbye
	// to the room and closes the connection.
	if err := carol.say("bye"); err != nil {
		return rep, err
	}
	for _, r := range []*peer{alice, bob} {
		if err := r.waitLine(ctx, "carol: bye"); err != nil {
			return rep, err
		}
	}
	for _, leaving := range []struct {
		p       *peer
		waiters []*peer
	}{{carol, []*peer{alice, bob}}, {alice, []*peer{bob}}, {bob, nil}} {
		if err := leaving.p.leave(ctx); err != nil {
			return rep, err
		}
		for _, r := range leaving.waiters {
			if err := r.waitLine(ctx, "* "+leaving.p.name+" left"); err != nil {
				return rep, err
			}
		}
	}

	// Every client is gone (dave was aborted): Shutdown returns at once,
	// and the server's Observable completes.
	if err := srv.Shutdown(ctx); err != nil {
		return rep, err
	}
	if err := stop(); err != nil {
		return rep, err
	}

	for _, r := range readers {
		fmt.Fprintf(out, "%s received:\n", r.name)
		for _, l := range r.transcript() {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	st := srv.Stats()
	rep.accepted, rep.open, rep.bytesRead = st.Accepted, st.Open, st.Transports.BytesRead
	fmt.Fprintf(out, "server: %d accepted, %d open, %d bytes read\n", st.Accepted, st.Open, st.Transports.BytesRead)
	return rep, nil
}

// floodLine is alice's i-th flood line, floodSize bytes with its '\n'.
func floodLine(i int) string {
	head := fmt.Sprintf("flood %03d ", i)
	return head + strings.Repeat(".", floodSize-len(head)-1) + "\n"
}

// countFlood counts the flood lines in got, or returns -1 if they are not
// in order.
func countFlood(got []string) int {
	n := 0
	for _, l := range got {
		if strings.HasPrefix(l, "alice: flood ") {
			n++
			if l != "alice: "+strings.TrimSuffix(floodLine(n), "\n") {
				return -1
			}
		}
	}
	return n
}

// peer is a scripted client: a plain net.Conn, and, for a reader, a
// goroutine keeping every line received.
type peer struct {
	name     string
	conn     net.Conn
	reads    bool
	readDone chan struct{}

	mu      sync.Mutex
	got     []string
	changed chan struct{} // closed and replaced at every line and at the end
	ended   bool
	err     error
}

// dialPeer connects a client. One that does not read gets a tiny receive
// buffer, so that what it leaves unread backs up into the server soon.
func dialPeer(ctx context.Context, addr, name string, reads bool) (*peer, error) {
	d := net.Dialer{}
	if !reads {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return control(rc, syscall.SO_RCVBUF, 4<<10) // before connecting: a small window
		}
	}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &peer{name: name, conn: conn, reads: reads, readDone: make(chan struct{}), changed: make(chan struct{})}
	if !reads {
		close(p.readDone)
		return p, nil
	}
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(conn)
		sc.Buffer(make([]byte, 0, 4096), maxMessage)
		for sc.Scan() {
			p.add(sc.Text())
		}
		p.mu.Lock()
		p.ended, p.err = true, sc.Err()
		close(p.changed)
		p.mu.Unlock()
	}()
	return p, nil
}

func (p *peer) add(line string) {
	p.mu.Lock()
	p.got = append(p.got, line)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

func (p *peer) say(text string) error {
	_, err := io.WriteString(p.conn, text+"\n")
	return err
}

// leave closes p's write side and waits for the server to close the
// connection.
func (p *peer) leave(ctx context.Context) error {
	if err := p.conn.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	return p.waitFor(ctx, "the server's close", nil)
}

// waitFor waits until cond holds for the lines received so far, or, with
// a nil cond, for the end of the connection.
func (p *peer) waitFor(ctx context.Context, what string, cond func([]string) bool) error {
	for {
		p.mu.Lock()
		ok := cond != nil && cond(p.got)
		ended, rerr, changed := p.ended, p.err, p.changed
		p.mu.Unlock()
		switch {
		case ok:
			return nil
		case ended && cond == nil:
			return rerr
		case ended:
			return fmt.Errorf("%s: connection ended (%v) before %s", p.name, rerr, what)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w", p.name, what, ctx.Err())
		}
	}
}

// waitLine waits until p has received line.
func (p *peer) waitLine(ctx context.Context, line string) error {
	return p.waitFor(ctx, fmt.Sprintf("%q", line), func(got []string) bool {
		for _, l := range got {
			if l == line {
				return true
			}
		}
		return false
	})
}

// transcript returns what p received, with the flood, which must be
// whole and in order, summed up in one line where it began.
func (p *peer) transcript() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t []string
	n := countFlood(p.got)
	for _, l := range p.got {
		if !strings.HasPrefix(l, "alice: flood ") {
			t = append(t, l)
		} else if l == "alice: flood 001 "+strings.Repeat(".", floodSize-len("flood 001 ")-1) {
			if n == floodLines {
				t = append(t, fmt.Sprintf("alice: flood 001..%03d (%d lines, whole and in order)", floodLines, floodLines))
			} else {
				t = append(t, fmt.Sprintf("alice: flood (%d lines, want %d in order)", n, floodLines))
			}
		}
	}
	return t
}
