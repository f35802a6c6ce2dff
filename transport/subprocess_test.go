//go:build unix

package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestSP1_S1_MadeFirstForInstantExit checks that a child that has exited
// (and been reaped) before anyone claimed the events still gives Made
// first, then Exited once, a PipeLost per pipe, and Lost last.
func TestSP1_S1_MadeFirstForInstantExit(t *testing.T) {
	sp := spExec(t, childCmd(t, "exit", "0"))
	spWaitCode(t, sp) // reaped before the claim
	evs := spCollect(t, sp.Events())
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if code, ok := sp.ReturnCode(); !ok || code != 0 {
		t.Fatalf("ReturnCode = %d, %v; want 0, true", code, ok)
	}
}

// TestSP1_LostAfterExitedAndEveryPipeLost checks that Lost waits for every
// pipe: the child closes stdout early (PipeLost(1) while it runs), exits
// only at stdin's EOF, and Lost follows Exited and PipeLost 0 and 2.
func TestSP1_LostAfterExitedAndEveryPipeLost(t *testing.T) {
	sp := spExec(t, childCmd(t, "closestdout"))
	ch := sp.Events()
	evs := spUntil(t, ch, "PipeLost(1)", isPipeLost(1))
	if evs[0].Kind != stream.Made {
		t.Fatalf("first event %v, want Made", evs[0])
	}
	if e := evs[len(evs)-1]; e.Err != nil {
		t.Fatalf("%v, want a clean end", e)
	}
	if _, ok := sp.ReturnCode(); ok {
		t.Fatal("ReturnCode ok while the child waits for stdin's EOF")
	}
	if err := stdinOf(t, sp).WriteEOF(); err != nil {
		t.Fatalf("WriteEOF on stdin: %v", err)
	}
	evs = append(evs, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == stream.PipeLost && e.Err != nil {
			t.Errorf("%v, want nil at a normal end", e)
		}
	}
}

// TestS2_ReturnCodeNotOKWhileRunning checks ReturnCode while the child
// runs (ok false) and once it exited at stdin's EOF (0, true); PID is the
// child's.
func TestS2_ReturnCodeNotOKWhileRunning(t *testing.T) {
	cmd := childCmd(t, "echo")
	sp := spExec(t, cmd)
	if sp.PID() <= 0 || sp.PID() != cmd.Process.Pid {
		t.Fatalf("PID() = %d, want the child's %d", sp.PID(), cmd.Process.Pid)
	}
	ch := sp.Events()
	nextEvent(t, ch)
	if code, ok := sp.ReturnCode(); ok {
		t.Fatalf("ReturnCode = %d, true while the child runs", code)
	}
	stdinOf(t, sp).WriteEOF()
	spUntil(t, ch, "Exited", isKind(stream.Exited))
	if code, ok := sp.ReturnCode(); !ok || code != 0 {
		t.Fatalf("ReturnCode after Exited = %d, %v; want 0, true", code, ok)
	}
	if ps := cmd.ProcessState; ps == nil || ps.ExitCode() != 0 {
		t.Errorf("cmd.ProcessState = %v after Exited, want exit status 0", ps)
	}
}

// TestS2_ReturnCodeExitStatus checks that the exit status is the code,
// and is set by the time Exited is delivered.
func TestS2_ReturnCodeExitStatus(t *testing.T) {
	for _, n := range []int{0, 1, 3, 42, 255} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sp := spExec(t, childCmd(t, "exit", fmt.Sprint(n)))
			spUntil(t, sp.Events(), "Exited", isKind(stream.Exited))
			if code, ok := sp.ReturnCode(); !ok || code != n {
				t.Fatalf("ReturnCode = %d, %v; want %d, true", code, ok, n)
			}
		})
	}
}

// TestS2_ReturnCodeSignalNegative checks that a child ended by a signal
// has minus the signal as its code: -9 after Kill or SendSignal(os.Kill),
// -15 after Terminate on a child that does not ignore SIGTERM.
func TestS2_ReturnCodeSignalNegative(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(sp transport.SubprocessTransport) error
		want int
	}{
		{name: "Kill", send: transport.SubprocessTransport.Kill, want: -9},
		{name: "Terminate", send: transport.SubprocessTransport.Terminate, want: -15},
		{name: "SendSignalKill", send: func(sp transport.SubprocessTransport) error { return sp.SendSignal(os.Kill) }, want: -9},
		{name: "SendSignalTerm", send: func(sp transport.SubprocessTransport) error { return sp.SendSignal(syscall.SIGTERM) }, want: -15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := spExec(t, childCmd(t, "echo"))
			ch := sp.Events()
			nextEvent(t, ch)
			if err := tc.send(sp); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			evs := spUntil(t, ch, "Exited", isKind(stream.Exited))
			if code, ok := sp.ReturnCode(); !ok || code != tc.want {
				t.Fatalf("ReturnCode = %d, %v; want %d, true", code, ok, tc.want)
			}
			evs = append(append([]stream.Event{{Kind: stream.Made}}, evs...), spCollect(t, ch)...)
			if err := spCheckTrace(evs, 0, 1, 2); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// pipeCases are the stdio set-ups of the S3 tests and the pipes each
// makes.
var pipeCases = []struct {
	name  string
	opts  []transport.Option
	pipes []int
}{
	{name: "Default", pipes: []int{0, 1, 2}},
	{name: "StdinDiscard", opts: []transport.Option{transport.WithStdin(transport.Discard)}, pipes: []int{1, 2}},
	{name: "StdinInherit", opts: []transport.Option{transport.WithStdin(transport.Inherit)}, pipes: []int{1, 2}},
	{name: "StdoutDiscard", opts: []transport.Option{transport.WithStdout(transport.Discard)}, pipes: []int{0, 2}},
	{name: "StderrMerged", opts: []transport.Option{transport.WithStderr(transport.Stdout)}, pipes: []int{0, 1}},
	{name: "NoPipes", opts: []transport.Option{transport.WithStdin(transport.Discard), transport.WithStdout(transport.Discard), transport.WithStderr(transport.Discard)}},
}

// TestS3_PipeTransportKinds checks PipeTransport: a transport for each
// pipe, the one Stdin, Stdout or Stderr returns, and nothing for other
// fds or for streams that are not pipes.
func TestS3_PipeTransportKinds(t *testing.T) {
	for _, tc := range pipeCases {
		t.Run(tc.name, func(t *testing.T) {
			sp := spExec(t, childCmd(t, "exit", "0"), tc.opts...)
			typed := typedPipes(sp)
			for _, fd := range []int{-1, 0, 1, 2, 3, 99} {
				pt, ok := sp.PipeTransport(fd)
				want := slices.Contains(tc.pipes, fd)
				if ok != want || (pt != nil) != want {
					t.Errorf("PipeTransport(%d) = %v, %v; want a transport: %v", fd, pt, ok, want)
					continue
				}
				if ok && pt != typed[fd] {
					t.Errorf("PipeTransport(%d) = %v, not the typed accessor's %v", fd, pt, typed[fd])
				}
			}
			evs := spCollect(t, sp.Events())
			if err := spCheckTrace(evs, tc.pipes...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// typedPipes returns what Stdin, Stdout and Stderr return, nil where ok
// is false.
func typedPipes(sp transport.SubprocessTransport) [3]transport.BaseTransport {
	var typed [3]transport.BaseTransport
	if w, ok := sp.Stdin(); ok {
		typed[0] = w
	}
	if r, ok := sp.Stdout(); ok {
		typed[1] = r
	}
	if r, ok := sp.Stderr(); ok {
		typed[2] = r
	}
	return typed
}

// TestS3_TypedPipeAccessors checks Stdin, Stdout and Stderr: ok and a
// non-nil transport exactly for the streams that are pipes, a nil
// interface (not a typed nil) otherwise; and the transports work without
// a type assertion: a write to Stdin is echoed on fd 1, and Stdout's
// reading pauses.
func TestS3_TypedPipeAccessors(t *testing.T) {
	for _, tc := range pipeCases {
		t.Run(tc.name, func(t *testing.T) {
			sp := spExec(t, childCmd(t, "exit", "0"), tc.opts...)
			w, okIn := sp.Stdin()
			r1, okOut := sp.Stdout()
			r2, okErr := sp.Stderr()
			for fd, got := range [3][2]bool{{okIn, w != nil}, {okOut, r1 != nil}, {okErr, r2 != nil}} {
				want := slices.Contains(tc.pipes, fd)
				if got[0] != want || got[1] != want {
					t.Errorf("fd %d: ok %v, non-nil %v; want %v for both", fd, got[0], got[1], want)
				}
			}
			if err := spCheckTrace(spCollect(t, sp.Events()), tc.pipes...); err != nil {
				t.Fatal(err)
			}
		})
	}
	sp := spExec(t, childCmd(t, "echo"))
	stdin, _ := sp.Stdin()
	stdout, _ := sp.Stdout()
	stdout.PauseReading()
	if stdout.IsReading() {
		t.Fatal("Stdout's IsReading true after PauseReading")
	}
	stdout.ResumeReading()
	ch := sp.Events()
	nextEvent(t, ch) // Made
	if _, err := stdin.Write([]byte("typed\n")); err != nil {
		t.Fatalf("Write to Stdin: %v", err)
	}
	spReadOutput(t, ch, 1, "typed\n")
	if err := stdin.WriteEOF(); err != nil {
		t.Fatalf("WriteEOF on Stdin: %v", err)
	}
	if err := spCheckTrace(append([]stream.Event{{Kind: stream.Made}}, spCollect(t, ch)...), 0, 1, 2); err != nil {
		t.Fatal(err)
	}
}

// TestS3_MergedStderrIsPipeDataFD1 checks WithStderr(Stdout): what the
// child writes to stderr arrives as PipeData on fd 1, in order with
// stdout, and there is no stderr pipe.
func TestS3_MergedStderrIsPipeDataFD1(t *testing.T) {
	sp := spExec(t, childCmd(t, "write", "1", "out1 ", "2", "err1 ", "1", "out2 ", "2", "err2"), transport.WithStderr(transport.Stdout))
	evs := spCollect(t, sp.Events())
	if err := spCheckTrace(evs, 0, 1); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(evs, 1)); got != "out1 err1 out2 err2" {
		t.Fatalf("fd 1 got %q, want both streams in order", got)
	}
}

// TestS3_PipeEventsBelongToSubprocess checks that a pipe transport's own
// Events report ErrAlreadySubscribed once the subprocess's are claimed.
func TestS3_PipeEventsBelongToSubprocess(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	ch := sp.Events()
	nextEvent(t, ch)
	for fd := range 3 {
		pt, _ := sp.PipeTransport(fd)
		evs := spCollect(t, pt.Events())
		if len(evs) != 1 || evs[0].Kind != stream.Lost || !errors.Is(evs[0].Err, stream.ErrAlreadySubscribed) {
			t.Errorf("PipeTransport(%d).Events() gave %v, want one Lost(ErrAlreadySubscribed)", fd, evs)
		}
	}
	// The subprocess still works.
	stdin := stdinOf(t, sp)
	stdin.Write([]byte("still\n"))
	spReadOutput(t, ch, 1, "still\n")
}

// TestS3_PipeEventsBeforeClaim checks the same when a pipe transport's
// Events are called before the subprocess's are claimed: the subprocess
// transport still delivers everything to Lost.
func TestS3_PipeEventsBeforeClaim(t *testing.T) {
	sp := spExec(t, childCmd(t, "write", "1", "hello"))
	pt, _ := sp.Stdout()
	evs := spCollect(t, pt.Events())
	if len(evs) != 1 || evs[0].Kind != stream.Lost || !errors.Is(evs[0].Err, stream.ErrAlreadySubscribed) {
		t.Errorf("Stdout().Events() before the claim gave %v, want one Lost(ErrAlreadySubscribed)", evs)
	}
	all := spCollect(t, sp.Events())
	if err := spCheckTrace(all, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(all, 1)); got != "hello" {
		t.Fatalf("stdout %q, want hello", got)
	}
}

// TestS4_PipeDataPerFDInOrder checks PipeData on fd 1 and 2, each in the
// order the child wrote, and one clean PipeLost per pipe.
func TestS4_PipeDataPerFDInOrder(t *testing.T) {
	var args []string
	var out, errOut strings.Builder
	for i := range 50 {
		o, e := fmt.Sprintf("out%02d ", i), fmt.Sprintf("err%02d ", i)
		args = append(args, "1", o, "2", e)
		out.WriteString(o)
		errOut.WriteString(e)
	}
	sp := spExec(t, childCmd(t, "write", args...))
	evs := spCollect(t, sp.Events())
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(evs, 1)); got != out.String() {
		t.Errorf("fd 1 got %q, want %q", got, out.String())
	}
	if got := string(spOutput(evs, 2)); got != errOut.String() {
		t.Errorf("fd 2 got %q, want %q", got, errOut.String())
	}
	for _, e := range evs {
		if e.Kind == stream.PipeLost && e.Err != nil {
			t.Errorf("%v, want nil at a normal end", e)
		}
	}
}

// TestS7_CloseRunningChild checks Close on a running child: PipeLost for
// 0, 1 and 2, Exited, Lost(nil); ReturnCode -9; IsClosing true; a second
// Close changes nothing.
func TestS7_CloseRunningChild(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	ch := sp.Events()
	nextEvent(t, ch)
	if sp.IsClosing() {
		t.Fatal("IsClosing true before Close")
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !sp.IsClosing() {
		t.Fatal("IsClosing false right after Close")
	}
	if err := sp.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	evs := append([]stream.Event{{Kind: stream.Made}}, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if lost := evs[len(evs)-1]; lost.Err != nil {
		t.Errorf("%v after Close, want Lost(nil)", lost)
	}
	if code, ok := sp.ReturnCode(); !ok || code != -9 {
		t.Errorf("ReturnCode = %d, %v after Close; want -9, true", code, ok)
	}
	if !sp.IsClosing() || sp.Close() != nil {
		t.Error("IsClosing false, or Close failed, after Lost")
	}
}

// TestS7_CloseBeforeClaim checks that Close before the events are claimed
// kills the child, and the claim still delivers the whole trace.
func TestS7_CloseBeforeClaim(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	sp.Close()
	evs := spCollect(t, sp.Events())
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if code, ok := sp.ReturnCode(); !ok || code != -9 {
		t.Errorf("ReturnCode = %d, %v after Close; want -9, true", code, ok)
	}
}

// TestS7_ExitedLeavesIsClosingFalse checks that a child that exits on
// its own leaves IsClosing false, even after Lost.
func TestS7_ExitedLeavesIsClosingFalse(t *testing.T) {
	sp := spExec(t, childCmd(t, "write", "1", "bye"))
	evs := spCollect(t, sp.Events())
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if sp.IsClosing() {
		t.Fatal("IsClosing true after the child merely exited")
	}
}

// TestS8_SP1_SignalsAfterExitAreProcessDone checks that Kill, Terminate
// and SendSignal return os.ErrProcessDone once the child has exited, from
// Exited on and after Lost.
func TestS8_SP1_SignalsAfterExitAreProcessDone(t *testing.T) {
	sp := spExec(t, childCmd(t, "exit", "0"))
	ch := sp.Events()
	check := func(when string) {
		t.Helper()
		for name, err := range map[string]error{
			"Kill":       sp.Kill(),
			"Terminate":  sp.Terminate(),
			"SendSignal": sp.SendSignal(syscall.SIGUSR1),
		} {
			if !errors.Is(err, os.ErrProcessDone) {
				t.Errorf("%s %s = %v, want os.ErrProcessDone", name, when, err)
			}
		}
	}
	spUntil(t, ch, "Exited", isKind(stream.Exited))
	check("after Exited")
	spCollect(t, ch)
	check("after Lost")
	if code, _ := sp.ReturnCode(); code != 0 {
		t.Errorf("ReturnCode = %d, want 0: a signal reached the child", code)
	}
}

// TestS8_TerminateIgnoredKeepsRunning checks Terminate on a child that
// ignores SIGTERM: it still runs (and answers), then Kill ends it (-9).
func TestS8_TerminateIgnoredKeepsRunning(t *testing.T) {
	sp := spExec(t, childCmd(t, "ignoreterm"))
	ch := sp.Events()
	spReadOutput(t, ch, 1, "ready\n")
	if err := sp.Terminate(); err != nil {
		t.Fatalf("Terminate: %v", err)
	}
	// The SIGTERM was discarded when sent (ignored) or is pending and
	// fatal; the child answering afterwards shows it was discarded.
	stdinOf(t, sp).Write([]byte("alive\n"))
	evs := spReadOutput(t, ch, 1, "alive\n")
	if i := slices.IndexFunc(evs, isKind(stream.Exited)); i >= 0 {
		t.Fatalf("Exited after Terminate on a child ignoring SIGTERM: %v", evs)
	}
	if code, ok := sp.ReturnCode(); ok {
		t.Fatalf("ReturnCode = %d, true after an ignored Terminate", code)
	}
	if err := sp.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	spUntil(t, ch, "Exited", isKind(stream.Exited))
	if code, ok := sp.ReturnCode(); !ok || code != -9 {
		t.Fatalf("ReturnCode = %d, %v after Kill; want -9, true", code, ok)
	}
}

// TestS10_StdinPauseResumeWriting checks stdin's flow control on the
// subprocess's stream: writing beyond high to a child that does not read
// gives PauseWriting; ResumeWriting follows once the child reads.
func TestS10_StdinPauseResumeWriting(t *testing.T) {
	cmd := childCmd(t, "gated")
	release := gate(t, cmd)
	sp := spExec(t, cmd)
	ch := sp.Events()
	nextEvent(t, ch)
	stdin := stdinOf(t, sp)
	fillStdin(t, stdin)
	high, _ := stdin.WriteBufferLimits()
	if n := stdin.WriteBufferSize(); n <= high {
		t.Fatalf("paused with %d bytes buffered, high %d", n, high)
	}
	if e := nextEvent(t, ch); e.Kind != stream.PauseWriting {
		t.Fatalf("got %v after writing beyond high, want PauseWriting", e)
	}
	release()
	if e := nextEvent(t, ch); e.Kind != stream.ResumeWriting {
		t.Fatalf("got %v once the child reads, want ResumeWriting", e)
	}
	if !spWritable(stdin) {
		t.Fatal("Writable not closed after ResumeWriting")
	}
	stdin.WriteEOF()
	evs := append([]stream.Event{{Kind: stream.Made}, {Kind: stream.PauseWriting}, {Kind: stream.ResumeWriting}}, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if code, _ := sp.ReturnCode(); code != 0 {
		t.Fatalf("ReturnCode %d, want 0 (the child read to EOF)", code)
	}
}

// TestS10_PauseBeforeClaimComesAfterMade checks that a pause caused by
// writes made before the events are claimed is delivered after Made.
func TestS10_PauseBeforeClaimComesAfterMade(t *testing.T) {
	cmd := childCmd(t, "gated")
	release := gate(t, cmd)
	sp := spExec(t, cmd)
	fillStdin(t, stdinOf(t, sp))
	ch := sp.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	if e := nextEvent(t, ch); e.Kind != stream.PauseWriting {
		t.Fatalf("got %v, want PauseWriting", e)
	}
	release()
	if e := nextEvent(t, ch); e.Kind != stream.ResumeWriting {
		t.Fatalf("got %v once the child reads, want ResumeWriting", e)
	}
}

// TestRD1_EchoRoundTripWithDrain sends 4 MiB through an echoing child
// with Write and Drain, and reads it back in order from PipeData fd 1.
func TestRD1_EchoRoundTripWithDrain(t *testing.T) {
	const size = 4 << 20
	sp := spExec(t, childCmd(t, "echo"))
	ch := sp.Events()
	nextEvent(t, ch)
	stdin := stdinOf(t, sp)
	werr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		for off := 0; off < size; off += 32 << 10 {
			if _, err := stdin.Write(patternAt(int64(off), 32<<10)); err != nil {
				werr <- err
				return
			}
			if err := stdin.Drain(ctx); err != nil {
				werr <- err
				return
			}
		}
		werr <- stdin.WriteEOF()
	}()
	evs := spCollect(t, ch)
	if err := <-werr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if err := spCheckTrace(append([]stream.Event{{Kind: stream.Made}}, evs...), 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := spOutput(evs, 1); !bytes.Equal(got, patternAt(0, size)) {
		t.Fatalf("echoed %d bytes, not the %d sent in order", len(got), size)
	}
}

// TestRD3_PausedStdoutHoldsPipeData checks PauseReading on the stdout pipe
// (before the claim): stderr's events and Exited come, stdout's data and
// PipeLost wait for ResumeReading.
func TestRD3_PausedStdoutHoldsPipeData(t *testing.T) {
	sp := spExec(t, childCmd(t, "write", "1", "held", "2", "free"))
	stdout, _ := sp.Stdout()
	stdout.PauseReading()
	if stdout.IsReading() {
		t.Fatal("IsReading true after PauseReading")
	}
	ch := sp.Events()
	// Exited, and stderr and stdin ended: stdout's data has long been
	// there to read.
	var evs []stream.Event
	for _, want := range []func(stream.Event) bool{isKind(stream.Exited), isPipeLost(2), isPipeLost(0)} {
		if slices.IndexFunc(evs, want) < 0 {
			evs = append(evs, spUntil(t, ch, "Exited and PipeLost 0 and 2", want)...)
		}
	}
	if got := spOutput(evs, 1); len(got) > 0 || slices.IndexFunc(evs, isPipeLost(1)) >= 0 {
		t.Fatalf("stdout delivered while paused: %v", evs)
	}
	stdout.ResumeReading()
	evs = append(evs, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if got := string(spOutput(evs, 1)); got != "held" {
		t.Fatalf("stdout %q after ResumeReading, want held", got)
	}
}
