package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/internal/enginetest"
	"github.com/rxnet/rxnet/internal/poll"
	"github.com/rxnet/rxnet/transport"
)

// failAfter bounds every wait in these tests. It is only a failure guard:
// no test waits for it to pass.
const failAfter = 10 * time.Second

// Callback kinds as they appear in a recorded trace (asyncio's
// abbreviations, asyncio-rules.md).
const (
	cbMade   = "CM"
	cbData   = "DR"
	cbEOF    = "ER"
	cbLost   = "CL"
	cbPause  = "PW"
	cbResume = "RW"
	cbMark   = "MARK" // put in the trace by the test itself, not a callback
)

// entry is one recorded callback.
type entry struct {
	kind string
	data []byte // DR
	err  error  // CL
	note string // MARK
}

func (e entry) String() string {
	switch e.kind {
	case cbData:
		return fmt.Sprintf("DR(%d)", len(e.data))
	case cbLost:
		return fmt.Sprintf("CL(%v)", e.err)
	case cbMark:
		return "MARK(" + e.note + ")"
	}
	return e.kind
}

// recorder is a Protocol that records every callback, in the order they
// are called, and counts callbacks that run at once (CC2).
//
// A callback that runs while another callback of the same protocol runs on
// another goroutine is an overlap. PauseWriting and ResumeWriting nested
// in a callback on the same goroutine are not: asyncio calls PauseWriting
// inside the Write that causes it (F8), so a Write inside DataReceived
// nests PauseWriting in DataReceived.
//
// The hooks are set before the recorder reaches the adapter; each runs
// after its callback was recorded.
type recorder struct {
	onMade   func(t transport.Transport)
	onData   func(data []byte)
	onEOF    func() bool // nil: return false
	onPause  func()
	onResume func()
	onLost   func(err error)

	callGuard
	traceLog[entry]
	t        transport.Transport // guarded by mu
	madeDone chan struct{}       // closed when ConnectionMade returns
}

var _ adapters.Protocol = (*recorder)(nil)

func newRecorder() *recorder {
	return &recorder{traceLog: newTraceLog[entry](), madeDone: make(chan struct{})}
}

// mark puts a note of the test's own in the trace.
func (r *recorder) mark(note string) { r.record(entry{kind: cbMark, note: note}) }

func (r *recorder) ConnectionMade(t transport.Transport) {
	defer r.exit(r.enter(false))
	r.mu.Lock()
	r.t = t
	r.mu.Unlock()
	r.record(entry{kind: cbMade})
	defer close(r.madeDone)
	if r.onMade != nil {
		r.onMade(t)
	}
}

func (r *recorder) DataReceived(data []byte) {
	defer r.exit(r.enter(false))
	r.record(entry{kind: cbData, data: bytes.Clone(data)}) // DataReceived must not retain data
	if r.onData != nil {
		r.onData(data)
	}
}

func (r *recorder) EOFReceived() bool {
	defer r.exit(r.enter(false))
	r.record(entry{kind: cbEOF})
	if r.onEOF != nil {
		return r.onEOF()
	}
	return false
}

func (r *recorder) ConnectionLost(err error) {
	defer r.exit(r.enter(false))
	r.record(entry{kind: cbLost, err: err})
	if r.onLost != nil {
		r.onLost(err)
	}
}

func (r *recorder) PauseWriting() {
	defer r.exit(r.enter(true))
	r.record(entry{kind: cbPause})
	if r.onPause != nil {
		r.onPause()
	}
}

func (r *recorder) ResumeWriting() {
	defer r.exit(r.enter(true))
	r.record(entry{kind: cbResume})
	if r.onResume != nil {
		r.onResume()
	}
}

// transport returns the transport ConnectionMade was given, or nil.
func (r *recorder) transport() transport.Transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t
}

// count returns how many callbacks of kind were recorded.
func (r *recorder) count(kind string) int {
	return countKind(r.snapshot(), kind)
}

// waitCount waits until n callbacks of kind were recorded.
func (r *recorder) waitCount(t testing.TB, kind string, n int) []entry {
	t.Helper()
	return r.waitFor(t, fmt.Sprintf("%d × %s", n, kind), func(tr []entry) bool { return countKind(tr, kind) >= n })
}

// waitMade waits for ConnectionMade to return and returns its transport.
// (The adapter may still be finishing that callback's delivery.)
func (r *recorder) waitMade(t testing.TB) transport.Transport {
	t.Helper()
	waitClosed(t, r.madeDone, "ConnectionMade")
	return r.transport()
}

// waitLost waits for ConnectionLost and returns the whole trace.
func (r *recorder) waitLost(t testing.TB) []entry {
	t.Helper()
	return r.waitCount(t, cbLost, 1)
}

// received returns the bytes of every DataReceived, concatenated.
func received(tr []entry) []byte {
	var b []byte
	for _, e := range tr {
		if e.kind == cbData {
			b = append(b, e.data...)
		}
	}
	return b
}

func countKind(tr []entry, kind string) int {
	n := 0
	for _, e := range tr {
		if e.kind == kind {
			n++
		}
	}
	return n
}

func indexOf(tr []entry, pred func(entry) bool) int {
	for i, e := range tr {
		if pred(e) {
			return i
		}
	}
	return -1
}

func isKind(kind string) func(entry) bool {
	return func(e entry) bool { return e.kind == kind }
}

func lostErr(tr []entry) error {
	if i := indexOf(tr, isKind(cbLost)); i >= 0 {
		return tr[i].err
	}
	return errors.New("no ConnectionLost in trace")
}

// checkTrace checks a recorded trace against asyncio's documented call
// order for a Protocol (L16): CM DR* ER? CL, with PW and RW anywhere
// between CM and CL, alternating and starting with PW (F7). Marks are
// ignored.
func checkTrace(tr []entry) error {
	var ks []string
	for _, e := range tr {
		if e.kind != cbMark {
			ks = append(ks, e.kind)
		}
	}
	if len(ks) < 2 || ks[0] != cbMade || ks[len(ks)-1] != cbLost {
		return fmt.Errorf("trace %v does not start with CM and end with CL", tr)
	}
	eof, paused := false, false
	for i, k := range ks[1 : len(ks)-1] {
		switch k {
		case cbMade:
			return fmt.Errorf("second CM at %d in %v", i+1, tr)
		case cbLost:
			return fmt.Errorf("CL before the end, at %d in %v", i+1, tr)
		case cbData:
			if eof {
				return fmt.Errorf("DR after ER at %d in %v", i+1, tr)
			}
		case cbEOF:
			if eof {
				return fmt.Errorf("second ER at %d in %v", i+1, tr)
			}
			eof = true
		case cbPause:
			if paused {
				return fmt.Errorf("PW twice without RW at %d in %v", i+1, tr)
			}
			paused = true
		case cbResume:
			if !paused {
				return fmt.Errorf("RW without PW at %d in %v", i+1, tr)
			}
			paused = false
		default:
			return fmt.Errorf("unknown callback %q in %v", k, tr)
		}
	}
	return nil
}

// writable reports whether t is not paused for writing.
func writable(t transport.WriteTransport) bool {
	select {
	case <-t.Writable():
		return true
	default:
		return false
	}
}

// fillUntilPaused writes chunks to t until it is paused for writing (the
// peer must not read). It returns the bytes written. It is safe to call
// off the test goroutine.
func fillUntilPaused(t transport.WriteTransport, chunk int) (int, error) {
	buf := bytes.Repeat([]byte{'f'}, chunk)
	total := 0
	for total < 1<<30 {
		if _, err := t.Write(buf); err != nil {
			return total, err
		}
		total += chunk
		if !writable(t) {
			return total, nil
		}
	}
	return total, errors.New("wrote 1 GiB without pausing")
}

// startServe listens on 127.0.0.1:0 with opts and runs adapters.Serve
// with factory until the test ends.
func startServe[P adapters.StreamProtocol](t *testing.T, factory func() P, opts ...transport.Option) *transport.Server {
	t.Helper()
	srv, err := transport.Listen(context.Background(), "tcp", "127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- adapters.Serve(ctx, srv, factory) }()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		select {
		case <-done:
		case <-time.After(failAfter):
			t.Error("Serve did not return after its context was cancelled")
		}
	})
	return srv
}

// serveOne serves a single connection with r and returns the server and
// the peer's raw end. It does not wait for ConnectionMade.
func serveOne(t *testing.T, r *recorder, opts ...transport.Option) (*transport.Server, *net.TCPConn) {
	t.Helper()
	return serveOneBuf(t, r, 0, opts...)
}

// serveOneBuf is serveOne with the peer's receive buffer set to rcvbuf
// (0: the default), so that the peer's kernel holds little.
func serveOneBuf(t *testing.T, r *recorder, rcvbuf int, opts ...transport.Option) (*transport.Server, *net.TCPConn) {
	t.Helper()
	var once atomic.Bool
	srv := startServe(t, func() *recorder {
		if !once.CompareAndSwap(false, true) {
			return newRecorder() // not expected: a second connection
		}
		return r
	}, opts...)
	return srv, dialPeer(t, srv.Addr().String(), rcvbuf)
}

// dialPeer dials addr with a plain net.Dialer; rcvbuf, when not zero, is
// the socket's receive buffer, set before connecting.
func dialPeer(t *testing.T, addr string, rcvbuf int) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: failAfter}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			return setSockBuf(c, syscall.SO_RCVBUF, rcvbuf)
		}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc.(*net.TCPConn)
}

// rawListener listens on 127.0.0.1:0 with a plain net.Listener.
func rawListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// acceptPeer accepts one connection from ln.
func acceptPeer(t *testing.T, ln net.Listener) *net.TCPConn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		ch <- result{c, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatal(res.err)
		}
		t.Cleanup(func() { res.c.Close() })
		return res.c.(*net.TCPConn)
	case <-time.After(failAfter):
		ln.Close()
		t.Fatal("timed out accepting")
		return nil
	}
}

// connectOne connects a recorder to a raw listener with adapters.Connect
// and returns the transport and the accepted raw peer.
func connectOne(t *testing.T, r *recorder, opts ...transport.Option) (transport.Transport, *net.TCPConn) {
	t.Helper()
	ln := rawListener(t)
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, p, err := adapters.Connect(ctx, "tcp", ln.Addr().String(), func() *recorder { return r }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if p != r {
		t.Fatalf("Connect returned protocol %p, want the factory's %p", p, r)
	}
	t.Cleanup(tr.Abort)
	return tr, acceptPeer(t, ln)
}

// readResult is what a peer read until the end.
type readResult struct {
	data []byte
	err  error // io.EOF for a clean end
}

// readUntilEnd reads c in the background until EOF or an error, in chunks
// of at most chunk bytes; each read also calls each (if not nil). A read
// deadline of failAfter guards against a hang.
func readUntilEnd(c net.Conn, chunk int, each func(n int)) <-chan readResult {
	ch := make(chan readResult, 1)
	c.SetReadDeadline(time.Now().Add(failAfter))
	go func() {
		var all []byte
		buf := make([]byte, chunk)
		for {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if each != nil && n > 0 {
				each(n)
			}
			if err != nil {
				ch <- readResult{all, err}
				return
			}
		}
	}()
	return ch
}

// waitResult waits for a readUntilEnd result.
func waitResult(t testing.TB, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(failAfter + time.Second):
		t.Fatal("timed out waiting for the peer's reads")
		return readResult{}
	}
}

// readExactly reads n bytes from c, with a deadline guard.
func readExactly(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(failAfter))
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return buf
}

// waitErr waits for an error sent on ch.
func waitErr(t testing.TB, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

// waitClosed waits for ch to be closed or to deliver.
func waitClosed[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(failAfter):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// socketOf returns the raw socket of a transport.
func socketOf(t testing.TB, tr transport.BaseTransport) syscall.RawConn {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSocket)
	if !ok {
		t.Fatal(`ExtraInfo("socket") missing`)
	}
	return v.(syscall.RawConn)
}

// rawOf returns the raw socket of a net.Conn.
func rawOf(t testing.TB, c syscall.Conn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// shrinkSendBuffer makes the kernel hold little of what tr writes, so its
// own buffer fills quickly.
// It may run inside a callback: it reports a failure with Errorf.
func shrinkSendBuffer(t testing.TB, tr transport.BaseTransport) {
	t.Helper()
	v, ok := tr.ExtraInfo(transport.InfoSocket)
	if !ok {
		t.Errorf(`ExtraInfo("socket") missing`)
		return
	}
	if err := setSockBuf(v.(syscall.RawConn), syscall.SO_SNDBUF, 4096); err != nil {
		t.Errorf("SO_SNDBUF: %v", err)
	}
}

// waitQueued waits until the kernel holds n unread bytes on rc's receive
// side: the bytes reached the socket and nobody read them. There is no
// event for that, so this polls, yielding, under the failAfter guard.
func waitQueued(t testing.TB, rc syscall.RawConn, n int) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	last := -1
	for time.Now().Before(deadline) {
		q, err := inQueue(rc)
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("cannot see the kernel's receive queue here: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if q == n {
			return
		}
		last = q
		yield()
	}
	t.Fatalf("the socket holds %d unread bytes, want %d", last, n)
}

// waitUnsent waits until the kernel has no unacknowledged bytes on rc's
// send side: what was written reached the other socket. It polls, like
// waitQueued.
func waitUnsent(t testing.TB, rc syscall.RawConn) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	last := -1
	for time.Now().Before(deadline) {
		q, err := outQueue(rc)
		if errors.Is(err, errors.ErrUnsupported) {
			t.Skipf("cannot see the kernel's send queue here: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if q == 0 {
			return
		}
		last = q
		yield()
	}
	t.Fatalf("the socket still has %d bytes unsent", last)
}

// resetPeer closes c with SO_LINGER 0, so the other side gets a reset.
func resetPeer(t testing.TB, c *net.TCPConn) {
	t.Helper()
	if err := c.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// panicValue is what the tests' callbacks panic with.
type panicValue struct{ where string }

func (v panicValue) String() string { return "boom in " + v.where }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// onLoop reports whether the adapted plain TCP or Unix transport tr runs
// on a poller loop: the poll engine's, where it runs (DESIGN "Engines").
func onLoop(transport.Transport) bool {
	return poll.Supported() && os.Getenv(enginetest.Var) != "goroutine"
}
