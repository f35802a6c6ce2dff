package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/childtest"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// The subprocess tests run no external program: every child is this test
// binary again, started by childCmd (package childtest).
// TestMain runs that behaviour instead of the tests and exits.

// childTimeout is childtest.Timeout: Main ends a child after it.
const childTimeout = childtest.Timeout

// childCmd returns a command running this test binary as a child with the
// named behaviour (see runChild).
func childCmd(t testing.TB, behaviour string, args ...string) *exec.Cmd {
	t.Helper()
	return childtest.Cmd(behaviour, args...)
}

// patternByte is byte off of the flood pattern (a period of 251, a prime,
// so that chunk boundaries never line up with it).
func patternByte(off int64) byte { return byte(off % 251) }

// patternAt returns n pattern bytes starting at offset off.
func patternAt(off int64, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternByte(off + int64(i))
	}
	return b
}

// runChild runs a child behaviour and returns its exit status.
func runChild(name string, args []string) int {
	// Nothing a child does may hang for ever.
	switch name {
	case "echo": // stdin to stdout until EOF
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			return 1
		}
		return 0
	case "linger": // echo, then keep running: only a signal ends it soon
		io.Copy(os.Stdout, os.Stdin)
		time.Sleep(2 * childTimeout) // the timer above ends it first
	case "write": // args: fd, text, fd, text...: each written in order
		for i := 0; i+1 < len(args); i += 2 {
			f := os.Stdout
			if args[i] == "2" {
				f = os.Stderr
			}
			if _, err := f.WriteString(args[i+1]); err != nil {
				return 1
			}
		}
		return 0
	case "exit": // args: the status
		n, _ := strconv.Atoi(args[0])
		return n
	case "ignoreterm": // ignore SIGTERM, say so, then echo until EOF
		signal.Ignore(syscall.SIGTERM)
		os.Stdout.WriteString("ready\n")
		io.Copy(os.Stdout, os.Stdin)
		return 0
	case "closestdout": // close stdout at once, run until stdin's EOF
		os.Stdout.Close()
		io.Copy(io.Discard, os.Stdin)
		return 0
	case "grandchild": // leave a grandchild holding stdin and stdout; exit 3
		return spawnGrandchild()
	case "hold": // the grandchild: on "go" write "late"; end at EOF
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if line == "go\n" {
			os.Stdout.WriteString("late\n")
		}
		return 0
	case "flood": // args: bytes [progress]: the pattern to stdout, fast
		return flood(args)
	case "tlspanic": // args: the callback that panics (tls_panic_test.go)
		return runTLSPanic(args[0])
	case "gated": // read nothing until fd 3 gives a byte or ends
		os.NewFile(3, "gate").Read(make([]byte, 1))
		io.Copy(io.Discard, os.Stdin)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown child behaviour %q\n", name)
	return 2
}

// spawnGrandchild starts "hold" with this process's stdin and stdout,
// reports its pid on stderr and returns 3 without waiting for it.
func spawnGrandchild() int {
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	gc := exec.Command(exe, "-test.run=^$")
	gc.Env = childtest.Environ("hold")
	gc.Stdin, gc.Stdout = os.Stdin, os.Stdout
	if err := gc.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%d\n", gc.Process.Pid)
	return 3
}

// flood writes args[0] pattern bytes to stdout in 64 KiB writes; with
// "progress", it writes the running total after each write to fd 3 as 8
// little-endian bytes.
func flood(args []string) int {
	total, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return 1
	}
	var progress *os.File
	if len(args) > 1 && args[1] == "progress" {
		progress = os.NewFile(3, "progress")
	}
	const chunk = 64 << 10
	block := patternAt(0, chunk+251)
	var rec [8]byte
	for off := int64(0); off < total; {
		n := min(int64(chunk), total-off)
		start := off % 251
		if _, err := os.Stdout.Write(block[start : start+n]); err != nil {
			return 1
		}
		off += n
		if progress != nil {
			binary.LittleEndian.PutUint64(rec[:], uint64(off))
			progress.Write(rec[:])
		}
	}
	return 0
}

// Helpers of the subprocess tests.

// spExec starts cmd as a subprocess transport. The test's cleanup closes
// it, reads its events to the end and waits until the child is reaped.
func spExec(t *testing.T, cmd *exec.Cmd, opts ...transport.Option) transport.SubprocessTransport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	sp, err := transport.Exec(ctx, cmd, opts...)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	t.Cleanup(func() { spEnd(t, sp) })
	return sp
}

// spEnd closes sp, reads its events until the channel closes (when the
// test's channel consumer holds them; otherwise Events reports the other
// claim and closes at once) and waits until the child is reaped.
func spEnd(t *testing.T, sp transport.SubprocessTransport) {
	t.Helper()
	sp.Close()
	ch := sp.Events()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-timeout.C:
			t.Errorf("the events did not end after Close")
			return
		}
	}
	spWaitCode(t, sp)
}

// spWaitCode waits until the child has been reaped and returns its code.
// There is no event to wait on for a transport whose events are consumed
// elsewhere, so it polls.
func spWaitCode(t testing.TB, sp transport.SubprocessTransport) int {
	t.Helper()
	var code int
	waitUntil(t, "the child to be reaped", func() bool {
		c, ok := sp.ReturnCode()
		code = c
		return ok
	})
	return code
}

// waitUntil polls cond every millisecond until it holds; it fails the test
// after waitTimeout. Only for states no event reports.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// spCollect reads events until the channel closes and returns them.
func spCollect(t testing.TB, ch <-chan stream.Event) []stream.Event {
	t.Helper()
	var evs []stream.Event
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, e)
		case <-timeout.C:
			t.Fatalf("the events did not end; so far: %v", evs)
			return nil
		}
	}
}

// spUntil reads events until one satisfies pred and returns all of them,
// that one last.
func spUntil(t testing.TB, ch <-chan stream.Event, what string, pred func(stream.Event) bool) []stream.Event {
	t.Helper()
	var evs []stream.Event
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed waiting for %s; got %v", what, evs)
			}
			evs = append(evs, e)
			if pred(e) {
				return evs
			}
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s; got %v", what, evs)
			return nil
		}
	}
}

func isKind(k stream.Kind) func(stream.Event) bool {
	return func(e stream.Event) bool { return e.Kind == k }
}

func isPipeLost(fd int) func(stream.Event) bool {
	return func(e stream.Event) bool { return e.Kind == stream.PipeLost && e.FD == fd }
}

// spOutput returns the bytes of every PipeData of fd, concatenated.
func spOutput(evs []stream.Event, fd int) []byte {
	var b []byte
	for _, e := range evs {
		if e.Kind == stream.PipeData && e.FD == fd {
			b = append(b, e.Data...)
		}
	}
	return b
}

// spReadOutput reads events until fd's output holds want (or more).
func spReadOutput(t testing.TB, ch <-chan stream.Event, fd int, want string) []stream.Event {
	t.Helper()
	var got []byte
	return spUntil(t, ch, fmt.Sprintf("%q on fd %d", want, fd), func(e stream.Event) bool {
		if e.Kind == stream.PipeData && e.FD == fd {
			got = append(got, e.Data...)
		}
		return len(got) >= len(want)
	})
}

// spCheckTrace checks a whole trace of a subprocess transport (SP1, S1,
// S4, S6): Made first and once, Lost last and once, Exited once, one
// PipeLost per pipe in pipes and none for any other fd, PipeData only on
// fd 1 or 2 and never after that fd's PipeLost, PauseWriting and
// ResumeWriting alternating from PauseWriting.
func spCheckTrace(evs []stream.Event, pipes ...int) error {
	if len(evs) < 2 || evs[0].Kind != stream.Made || evs[len(evs)-1].Kind != stream.Lost {
		return fmt.Errorf("trace %v does not start with Made and end with Lost", evs)
	}
	exited, paused := 0, false
	lost := map[int]int{}
	for i, e := range evs[1 : len(evs)-1] {
		switch e.Kind {
		case stream.Exited:
			exited++
		case stream.PipeLost:
			lost[e.FD]++
			if !slices.Contains(pipes, e.FD) {
				return fmt.Errorf("PipeLost for fd %d, not a pipe, at %d in %v", e.FD, i+1, evs)
			}
		case stream.PipeData:
			if e.FD != 1 && e.FD != 2 || len(e.Data) == 0 {
				return fmt.Errorf("bad %v at %d in %v", e, i+1, evs)
			}
			if lost[e.FD] > 0 {
				return fmt.Errorf("%v after PipeLost(%d) at %d in %v", e, e.FD, i+1, evs)
			}
		case stream.PauseWriting, stream.ResumeWriting:
			if (e.Kind == stream.PauseWriting) == paused {
				return fmt.Errorf("%v out of turn at %d in %v", e, i+1, evs)
			}
			paused = !paused
		default:
			return fmt.Errorf("unexpected %v at %d in %v", e, i+1, evs)
		}
	}
	if exited != 1 {
		return fmt.Errorf("%d Exited in %v, want 1", exited, evs)
	}
	for _, fd := range pipes {
		if lost[fd] != 1 {
			return fmt.Errorf("%d PipeLost(%d) in %v, want 1", lost[fd], fd, evs)
		}
	}
	return nil
}

// spWritable reports whether a write transport is not paused.
func spWritable(w transport.WriteTransport) bool {
	select {
	case <-w.Writable():
		return true
	default:
		return false
	}
}

// stdinOf returns the transport of the child's stdin.
func stdinOf(t testing.TB, sp transport.SubprocessTransport) transport.WriteTransport {
	t.Helper()
	w, ok := sp.Stdin()
	if !ok {
		t.Fatal("Stdin: no stdin pipe")
	}
	return w
}

// gate gives a "gated" child its fd 3; closing the returned function's
// end releases the child to read its stdin.
func gate(t *testing.T, cmd *exec.Cmd) (release func()) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{r}
	t.Cleanup(func() { r.Close(); w.Close() })
	return func() { w.Close() }
}

// fillStdin writes 16 KiB chunks to w until it pauses; it returns the
// bytes written.
func fillStdin(t testing.TB, w transport.WriteTransport) int {
	t.Helper()
	chunk := bytes.Repeat([]byte{'s'}, 16<<10)
	total := 0
	for spWritable(w) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatalf("Write to stdin after %d bytes: %v", total, err)
		}
		total += len(chunk)
		if total > 64<<20 {
			t.Fatal("wrote 64 MiB to stdin without a pause")
		}
	}
	return total
}
