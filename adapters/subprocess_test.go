//go:build unix

package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// SubprocessProtocol callbacks as they appear in a recorded trace
// (asyncio's abbreviations).
const (
	spMade     = "CM"
	spData     = "PDR"
	spPipeLost = "PCL"
	spExited   = "PE"
	spLost     = "CL"
	spPause    = "PW"
	spResume   = "RW"
	spMark     = "MARK"
)

// spEntry is one recorded callback.
type spEntry struct {
	kind string
	fd   int
	data []byte // PDR
	err  error  // PCL, CL
	code int    // PE: ReturnCode inside ProcessExited
	ok   bool   // PE: its ok
	note string // MARK
}

func (e spEntry) String() string {
	switch e.kind {
	case spData:
		return fmt.Sprintf("PDR(%d, %d)", e.fd, len(e.data))
	case spPipeLost:
		return fmt.Sprintf("PCL(%d, %v)", e.fd, e.err)
	case spExited:
		return fmt.Sprintf("PE(%d, %v)", e.code, e.ok)
	case spLost:
		return fmt.Sprintf("CL(%v)", e.err)
	case spMark:
		return "MARK(" + e.note + ")"
	}
	return e.kind
}

// spRecorder is a SubprocessProtocol that records its callbacks in order
// and counts callbacks that run at once (CC2). PauseWriting and
// ResumeWriting nested in another callback on the same goroutine (a Write
// inside it) are not an overlap.
type spRecorder struct {
	onMade func(t transport.SubprocessTransport)
	onData func(fd int, data []byte)
	onExit func(t transport.SubprocessTransport)

	callGuard
	traceLog[spEntry]
	t transport.SubprocessTransport // guarded by mu
}

var _ adapters.SubprocessProtocol = (*spRecorder)(nil)

func newSpRecorder() *spRecorder { return &spRecorder{traceLog: newTraceLog[spEntry]()} }

func (r *spRecorder) mark(note string) { r.record(spEntry{kind: spMark, note: note}) }

func (r *spRecorder) ConnectionMade(t transport.SubprocessTransport) {
	defer r.exit(r.enter(false))
	r.mu.Lock()
	r.t = t
	r.mu.Unlock()
	r.record(spEntry{kind: spMade})
	if r.onMade != nil {
		r.onMade(t)
	}
}

func (r *spRecorder) PipeDataReceived(fd int, data []byte) {
	defer r.exit(r.enter(false))
	r.record(spEntry{kind: spData, fd: fd, data: bytes.Clone(data)})
	if r.onData != nil {
		r.onData(fd, data)
	}
}

func (r *spRecorder) PipeConnectionLost(fd int, err error) {
	defer r.exit(r.enter(false))
	r.record(spEntry{kind: spPipeLost, fd: fd, err: err})
}

func (r *spRecorder) ProcessExited() {
	defer r.exit(r.enter(false))
	r.mu.Lock()
	t := r.t
	r.mu.Unlock()
	code, ok := t.ReturnCode()
	r.record(spEntry{kind: spExited, code: code, ok: ok})
	if r.onExit != nil {
		r.onExit(t)
	}
}

func (r *spRecorder) ConnectionLost(err error) {
	defer r.exit(r.enter(false))
	r.record(spEntry{kind: spLost, err: err})
}

func (r *spRecorder) PauseWriting() {
	defer r.exit(r.enter(true))
	r.record(spEntry{kind: spPause})
}

func (r *spRecorder) ResumeWriting() {
	defer r.exit(r.enter(true))
	r.record(spEntry{kind: spResume})
}

// transport returns the transport ConnectionMade was given.
func (r *spRecorder) transport() transport.SubprocessTransport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.t
}

// waitCount waits until kind was recorded n times and returns the trace.
func (r *spRecorder) waitCount(t testing.TB, kind string, n int) []spEntry {
	t.Helper()
	return r.waitFor(t, fmt.Sprintf("%d × %s", n, kind), func(tr []spEntry) bool { return spCount(tr, kind) >= n })
}

func spCount(tr []spEntry, kind string) int {
	n := 0
	for _, e := range tr {
		if e.kind == kind {
			n++
		}
	}
	return n
}

// spOutput returns the bytes of every PipeDataReceived of fd.
func spOutput(tr []spEntry, fd int) []byte {
	var b []byte
	for _, e := range tr {
		if e.kind == spData && e.fd == fd {
			b = append(b, e.data...)
		}
	}
	return b
}

// spCheckTrace checks a SubprocessProtocol trace against asyncio's
// order (L16, S6): CM first and once, CL last and once, PE once, one PCL
// per pipe in pipes, no PDR of a pipe after its PCL, PW and RW
// alternating from PW. Marks are ignored.
func spCheckTrace(tr []spEntry, pipes ...int) error {
	tr = slices.DeleteFunc(slices.Clone(tr), func(e spEntry) bool { return e.kind == spMark })
	if len(tr) < 2 || tr[0].kind != spMade || tr[len(tr)-1].kind != spLost {
		return fmt.Errorf("trace %v does not start with CM and end with CL", tr)
	}
	exited, paused, lost := 0, false, map[int]int{}
	for i, e := range tr[1 : len(tr)-1] {
		switch e.kind {
		case spExited:
			exited++
		case spPipeLost:
			lost[e.fd]++
			if !slices.Contains(pipes, e.fd) {
				return fmt.Errorf("PCL of fd %d, not a pipe, in %v", e.fd, tr)
			}
		case spData:
			if e.fd != 1 && e.fd != 2 || lost[e.fd] > 0 || len(e.data) == 0 {
				return fmt.Errorf("bad %v at %d in %v", e, i+1, tr)
			}
		case spPause, spResume:
			if (e.kind == spPause) == paused {
				return fmt.Errorf("%v out of turn at %d in %v", e, i+1, tr)
			}
			paused = !paused
		default:
			return fmt.Errorf("unexpected %v at %d in %v", e, i+1, tr)
		}
	}
	if exited != 1 {
		return fmt.Errorf("%d PE in %v, want 1", exited, tr)
	}
	for _, fd := range pipes {
		if lost[fd] != 1 {
			return fmt.Errorf("%d PCL(%d) in %v, want 1", lost[fd], fd, tr)
		}
	}
	return nil
}

// runProcess runs cmd with r as its protocol; when the test ends the
// transport is closed and ConnectionLost awaited.
func runProcess(t *testing.T, r *spRecorder, cmd *exec.Cmd, opts ...transport.Option) transport.SubprocessTransport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failAfter)
	defer cancel()
	tr, p, err := adapters.RunProcess(ctx, cmd, func() *spRecorder { return r }, opts...)
	if err != nil {
		t.Fatalf("RunProcess: %v", err)
	}
	if p != r {
		t.Fatalf("RunProcess returned protocol %p, want the factory's %p", p, r)
	}
	t.Cleanup(func() {
		tr.Close()
		r.waitCount(t, spLost, 1)
	})
	return tr
}

// stdinOf returns the transport of the child's stdin.
func stdinOf(t testing.TB, sp transport.SubprocessTransport) transport.WriteTransport {
	t.Helper()
	w, ok := sp.Stdin()
	if !ok {
		t.Fatal("no stdin pipe")
	}
	return w
}

// TestSP1_RunProcessTrace checks the callbacks of a child that writes to
// stdout and stderr and exits: CM, PDR per fd in order, PCL per pipe, PE
// (with ReturnCode set), and CL(nil) last.
func TestSP1_RunProcessTrace(t *testing.T) {
	r := newSpRecorder()
	runProcess(t, r, childCmd(t, "write", "1", "hello ", "2", "oops", "1", "world"))
	tr := r.waitCount(t, spLost, 1)
	if err := spCheckTrace(tr, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(tr, 1)); got != "hello world" {
		t.Errorf("fd 1: %q, want hello world", got)
	}
	if got := string(spOutput(tr, 2)); got != "oops" {
		t.Errorf("fd 2: %q, want oops", got)
	}
	for _, e := range tr {
		switch {
		case e.kind == spExited && (!e.ok || e.code != 0):
			t.Errorf("ReturnCode inside ProcessExited = %d, %v; want 0, true", e.code, e.ok)
		case (e.kind == spPipeLost || e.kind == spLost) && e.err != nil:
			t.Errorf("%v, want a clean end", e)
		}
	}
	if n := r.overlaps.Load(); n != 0 {
		t.Errorf("%d callbacks overlapped", n)
	}
}

// TestRD3_SubprocessPausedStdoutHoldsData checks PauseReading on an
// adapted subprocess's stdout (in ConnectionMade, before it reads): on
// either engine no PipeDataReceived of fd 1 comes while stderr ends and
// the child exits; after ResumeReading its data comes, then its PCL.
func TestRD3_SubprocessPausedStdoutHoldsData(t *testing.T) {
	r := newSpRecorder()
	r.onMade = func(t transport.SubprocessTransport) {
		stdout, _ := t.Stdout()
		stdout.PauseReading()
	}
	sp := runProcess(t, r, childCmd(t, "write", "1", "held", "2", "free"))
	r.waitFor(t, "PE and PCL of fd 0 and 2", func(tr []spEntry) bool {
		return spCount(tr, spExited) == 1 && spCount(tr, spPipeLost) == 2
	})
	if tr := r.snapshot(); len(spOutput(tr, 1)) > 0 || slices.ContainsFunc(tr, func(e spEntry) bool { return e.kind == spPipeLost && e.fd == 1 }) {
		t.Fatalf("stdout delivered while paused: %v", tr)
	}
	stdout, _ := sp.Stdout()
	stdout.ResumeReading()
	tr := r.waitCount(t, spLost, 1)
	if err := spCheckTrace(tr, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(tr, 1)); got != "held" {
		t.Fatalf("fd 1: %q after ResumeReading, want held", got)
	}
}

// TestER2_PanicInPipeDataReceivedKillsChild checks that a panic in
// PipeDataReceived kills the child (which would otherwise keep running)
// and gives ConnectionLost a *PanicError, last.
func TestER2_PanicInPipeDataReceivedKillsChild(t *testing.T) {
	r := newSpRecorder()
	r.onMade = func(t transport.SubprocessTransport) {
		stdin, _ := t.Stdin()
		stdin.Write([]byte("boom\n"))
	}
	r.onData = func(int, []byte) { panic(panicValue{"PipeDataReceived"}) }
	sp := runProcess(t, r, childCmd(t, "linger"))
	tr := r.waitCount(t, spLost, 1)
	var pe *adapters.PanicError
	if err := tr[len(tr)-1].err; !errors.As(err, &pe) || pe.Value != (panicValue{"PipeDataReceived"}) {
		t.Fatalf("ConnectionLost(%v), want a *PanicError with the panic value", err)
	}
	if err := spCheckTrace(tr, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if spCount(tr, spData) != 1 {
		t.Errorf("PipeDataReceived after it panicked: %v", tr)
	}
	if code, ok := sp.ReturnCode(); !ok || code != -9 {
		t.Errorf("ReturnCode = %d, %v; want -9, true: the child killed", code, ok)
	}
}

// TestER2_PanicInProcessExitedIsErr checks that a panic in ProcessExited
// after every pipe has closed is still Lost's error, and Err's after
// Done: the subprocess transport is done only once Lost is decided. The
// child writes nothing: ProcessExited, which waits here for the pipes to
// close, may come before a PipeDataReceived (SP1 orders only Lost), and
// a pipe whose data waits for the adapter, held by that callback, would
// never close (the test hung under load at 1a16131).
func TestER2_PanicInProcessExitedIsErr(t *testing.T) {
	r := newSpRecorder()
	r.onExit = func(sp transport.SubprocessTransport) {
		for fd := range 3 {
			pt, _ := sp.PipeTransport(fd)
			select {
			case <-pt.Done():
			case <-time.After(failAfter):
				t.Errorf("pipe %d not closed after the child exited", fd)
			}
		}
		panic(panicValue{"ProcessExited"})
	}
	sp := runProcess(t, r, childCmd(t, "write"))
	tr := r.waitCount(t, spLost, 1)
	select {
	case <-sp.Done():
	case <-time.After(failAfter):
		t.Fatalf("Done not closed after ConnectionLost")
	}
	var pe *adapters.PanicError
	if err := sp.Err(); !errors.As(err, &pe) || pe.Value != (panicValue{"ProcessExited"}) {
		t.Fatalf("Err() = %v, want the *PanicError of ProcessExited", err)
	}
	if lost := tr[len(tr)-1].err; lost != sp.Err() {
		t.Fatalf("ConnectionLost(%v), Err() = %v: want the same", lost, sp.Err())
	}
}

// TestER2_RunProcessConnectionMadePanic checks that RunProcess returns
// the *PanicError of a panicking ConnectionMade and kills the child.
func TestER2_RunProcessConnectionMadePanic(t *testing.T) {
	r := newSpRecorder()
	r.onMade = func(transport.SubprocessTransport) { panic(panicValue{"ConnectionMade"}) }
	tr, _, err := adapters.RunProcess(context.Background(), childCmd(t, "linger"), func() *spRecorder { return r })
	var pe *adapters.PanicError
	if !errors.As(err, &pe) || tr != nil {
		t.Fatalf("RunProcess = %v, %v; want nil and a *PanicError", tr, err)
	}
	got := r.waitCount(t, spLost, 1)
	if !errors.As(got[len(got)-1].err, &pe) {
		t.Fatalf("trace %v, want CL(*PanicError) last", got)
	}
	if i := slices.IndexFunc(got, func(e spEntry) bool { return e.kind == spExited }); i < 0 || got[i].code != -9 {
		t.Fatalf("trace %v, want PE with ReturnCode -9: the child killed", got)
	}
}

// TestER1_RunProcessErrors checks RunProcess's refusals: a factory that
// returns nil (the started child is killed), a bad option, an events
// stream already claimed for AdaptProcess.
func TestER1_RunProcessErrors(t *testing.T) {
	cmd := childCmd(t, "linger")
	if _, _, err := adapters.RunProcess(context.Background(), cmd, func() *spRecorder { return nil }); !errors.Is(err, adapters.ErrNilProtocol) {
		t.Errorf("RunProcess with a nil protocol = %v, want ErrNilProtocol", err)
	}
	if cmd.Process != nil {
		waitReaped(t, cmd.Process.Pid)
	}
	if _, _, err := adapters.RunProcess(context.Background(), childCmd(t, "echo"), newSpRecorder, transport.WithStdin(transport.Stdout)); err == nil {
		t.Error("RunProcess with WithStdin(Stdout) succeeded")
	}
	sp, err := transport.Exec(context.Background(), childCmd(t, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	ch := sp.Events()
	if err := adapters.AdaptProcess(sp, newSpRecorder()); !errors.Is(err, adapters.ErrNotAdaptable) {
		t.Errorf("AdaptProcess on a claimed transport = %v, want ErrNotAdaptable", err)
	}
	sp.Close()
	for range ch {
	}
}

// waitReaped waits until the process pid is gone: killed and reaped by
// the transport nobody holds any more (a zombie still takes signals).
// Nothing reports it, so it polls.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(failAfter)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d still exists: not killed or not reaped", pid)
		}
		<-tick.C
	}
}

// TestCC2_SubprocessNoTwoCallbacksAtOnce checks that callbacks never run
// at once although stdout and stderr are read by two goroutines, and that
// each pipe's bytes all arrive.
func TestCC2_SubprocessNoTwoCallbacksAtOnce(t *testing.T) {
	const size = 2 << 20
	r := newSpRecorder()
	var got [3]atomic.Int64
	r.onData = func(fd int, data []byte) { got[fd].Add(int64(len(data))) }
	runProcess(t, r, childCmd(t, "spray", fmt.Sprint(size)))
	tr := r.waitCount(t, spLost, 1)
	if err := spCheckTrace(tr, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if n := r.overlaps.Load(); n != 0 {
		t.Fatalf("%d callbacks ran while another one ran", n)
	}
	if got[1].Load() != size || got[2].Load() != size {
		t.Fatalf("received %d and %d bytes on fd 1 and 2, want %d each", got[1].Load(), got[2].Load(), size)
	}
}

// TestCC2_S10_PauseWritingBeforeWriteReturns checks stdin's flow control
// through the adapter: a Write inside a callback (ConnectionMade, or
// PipeDataReceived) that goes beyond high calls PauseWriting before it
// returns; ResumeWriting follows once the child reads.
func TestCC2_S10_PauseWritingBeforeWriteReturns(t *testing.T) {
	for _, where := range []string{"ConnectionMade", "PipeDataReceived"} {
		t.Run(where, func(t *testing.T) {
			gr, gw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { gr.Close(); gw.Close() })
			cmd := childCmd(t, "gated")
			cmd.ExtraFiles = []*os.File{gr}
			r := newSpRecorder()
			filled := make(chan string, 1)
			fill := func(t transport.SubprocessTransport) {
				stdin, _ := t.Stdin()
				chunk := make([]byte, 16<<10)
				for total := 0; writable(stdin); total += len(chunk) {
					if _, err := stdin.Write(chunk); err != nil || total > 64<<20 {
						filled <- fmt.Sprintf("Write: %v after %d bytes", err, total)
						return
					}
				}
				r.mark("paused")
				filled <- ""
			}
			if where == "ConnectionMade" {
				r.onMade = fill
			} else {
				var once sync.Once
				r.onData = func(int, []byte) { once.Do(func() { fill(r.transport()) }) }
			}
			sp := runProcess(t, r, cmd)
			select {
			case msg := <-filled:
				if msg != "" {
					t.Fatal(msg)
				}
			case <-time.After(failAfter):
				t.Fatal("the callback did not fill stdin")
			}
			tr := r.snapshot()
			pw := slices.IndexFunc(tr, func(e spEntry) bool { return e.kind == spPause })
			if mark := slices.IndexFunc(tr, func(e spEntry) bool { return e.kind == spMark }); pw < 0 || pw > mark {
				t.Fatalf("trace %v: PauseWriting not called before the Write that paused returned", tr)
			}
			gw.Close() // the child reads now
			r.waitCount(t, spResume, 1)
			stdinOf(t, sp).WriteEOF()
			tr = r.waitCount(t, spLost, 1)
			if err := spCheckTrace(tr, 0, 1, 2); err != nil {
				t.Fatal(err)
			}
			if n := r.overlaps.Load(); n != 0 {
				t.Errorf("%d callbacks overlapped", n)
			}
		})
	}
}

// TestPI2_ConnectReadPipeEOFReceivedTrueStillLost checks that a read
// pipe's protocol gets ConnectionLost(nil) after EOFReceived even when
// EOFReceived returns true: a read pipe always closes at EOF.
func TestPI2_ConnectReadPipeEOFReceivedTrueStillLost(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	rec := newRecorder()
	rec.onEOF = func() bool { return true }
	tr, p, err := adapters.ConnectReadPipe(pr, func() *recorder { return rec })
	if err != nil || p != rec {
		t.Fatalf("ConnectReadPipe = %v, %v", p, err)
	}
	t.Cleanup(func() { tr.Close() })
	if v, ok := tr.ExtraInfo(transport.InfoPipe); !ok || v != pr {
		t.Errorf(`ExtraInfo("pipe") = %v, %v; want the file`, v, ok)
	}
	pw.WriteString("piped")
	pw.Close()
	got := rec.waitLost(t)
	if err := checkTrace(got); err != nil {
		t.Fatal(err)
	}
	if string(received(got)) != "piped" || rec.count(cbEOF) != 1 || lostErr(got) != nil {
		t.Fatalf("trace %v, want DR(piped), ER, CL(nil)", got)
	}
}

// TestPI8_ConnectWritePipeReaderGone checks a write pipe's protocol: its
// writes reach the reader, and the reader going away gives
// ConnectionLost(nil) when nothing was pending.
func TestPI8_ConnectWritePipeReaderGone(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	rec := newRecorder()
	rec.onMade = func(t transport.Transport) { t.Write([]byte("hi")) }
	tr, _, err := adapters.ConnectWritePipe(pw, func() *recorder { return rec })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Abort)
	buf := make([]byte, 2)
	pr.SetReadDeadline(time.Now().Add(failAfter))
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("reader got %q, %v", buf, err)
	}
	pr.Close()
	got := rec.waitLost(t)
	if err := checkTrace(got); err != nil || lostErr(got) != nil {
		t.Fatalf("trace %v (%v), want CM, CL(nil)", got, err)
	}
}
