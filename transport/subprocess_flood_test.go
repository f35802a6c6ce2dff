//go:build linux

package transport_test

// Subprocess tests that need Linux: a flood bounded by memory (RD2), a
// grandchild holding stdout (S5; this process becomes a child subreaper
// so that it reaps the orphaned grandchild itself), and descriptors
// counted in /proc/self/fd (LC5).

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// stallWindow is how long the child's writes must make no progress for
// the test to call them blocked (as internal/transporttest does). A
// premature verdict only makes the bound checked after it more lenient.
const stallWindow = 300 * time.Millisecond

// progress reads the totals a "flood" child reports on fd 3.
type progress struct {
	r    *os.File
	buf  []byte
	last int64
}

// stall reads reports until none comes for stallWindow (true) or the
// child closes fd 3 (false).
func (p *progress) stall(t testing.TB) bool {
	t.Helper()
	chunk := make([]byte, 4096)
	for {
		p.r.SetReadDeadline(time.Now().Add(stallWindow))
		n, err := p.r.Read(chunk)
		p.buf = append(p.buf, chunk[:n]...)
		for len(p.buf) >= 8 {
			p.last = int64(binary.LittleEndian.Uint64(p.buf))
			p.buf = p.buf[8:]
		}
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && n == 0:
			return true
		case err == io.EOF:
			return false
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			t.Fatalf("reading the child's progress: %v", err)
		}
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestRD2_SubprocessFloodBounded checks that a child writing 100 MiB to
// stdout is held back by a consumer that took only Made: its writes stop
// and this process's heap stays bounded; then every byte arrives, in
// order, counted exactly.
func TestRD2_SubprocessFloodBounded(t *testing.T) {
	const total = 100 << 20
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := childCmd(t, "flood", strconv.Itoa(total), "progress")
	cmd.ExtraFiles = []*os.File{pw}
	base := heapInUse()
	sp := spExec(t, cmd, transport.WithStdin(transport.Discard))
	pw.Close()
	ch := sp.Events()
	if e := nextEvent(t, ch); e.Kind != stream.Made {
		t.Fatalf("first event %v, want Made", e)
	}
	prog := &progress{r: pr}
	if !prog.stall(t) {
		t.Fatalf("the child wrote all %d bytes to a stalled consumer", prog.last)
	}
	grown := int64(heapInUse()) - int64(base)
	t.Logf("stalled after the child wrote %d bytes; heap grew %d bytes", prog.last, grown)
	if prog.last > 8<<20 {
		t.Errorf("the child wrote %d bytes before stalling, want a few hundred KiB", prog.last)
	}
	if grown > 8<<20 {
		t.Errorf("heap grew %d bytes with a stalled consumer, want < 8 MiB", grown)
	}

	// Drain: every byte, in order.
	block := patternAt(0, 64<<10+251)
	var off int64
	var kinds []stream.Event
	timeout := time.NewTimer(4 * waitTimeout)
	defer timeout.Stop()
	for open := true; open; {
		select {
		case e, ok := <-ch:
			if open = ok; !ok {
				break
			}
			if e.Kind == stream.PipeData && e.FD == 1 {
				for i := 0; i < len(e.Data); {
					k := min(len(e.Data)-i, 64<<10)
					s := (off + int64(i)) % 251
					if !bytes.Equal(e.Data[i:i+k], block[s:s+int64(k)]) {
						t.Fatalf("stdout differs from the pattern in bytes %d..%d", off+int64(i), off+int64(i+k))
					}
					i += k
				}
				off += int64(len(e.Data))
				e.Data = []byte{e.Data[0]} // keep the trace, not the bytes
			}
			kinds = append(kinds, e)
		case <-timeout.C:
			t.Fatalf("draining: %d bytes after %v", off, 4*waitTimeout)
		}
	}
	if off != total {
		t.Fatalf("received %d bytes, want %d", off, total)
	}
	if err := spCheckTrace(append([]stream.Event{{Kind: stream.Made}}, kinds...), 1, 2); err != nil {
		t.Fatal(err)
	}
	if prog.stall(t) || prog.last != total {
		t.Fatalf("the child reports %d bytes written, want %d", prog.last, total)
	}
}

var subreaper = sync.OnceValue(func() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
})

// adoptOrphans makes this process the reaper of the children its
// children leave behind, so that a test can reap a grandchild itself.
func adoptOrphans(t *testing.T) {
	t.Helper()
	if err := subreaper(); err != nil {
		t.Skipf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
}

// reapGrandchild waits for the orphaned grandchild *pid (0: unknown) to
// exit and reaps it; after waitTimeout it kills it first.
func reapGrandchild(t *testing.T, pid *int) {
	t.Helper()
	if *pid <= 0 {
		return
	}
	done := make(chan error, 1)
	go func() {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(*pid, &ws, 0, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("reaping the grandchild %d: %v", *pid, err)
		}
	case <-time.After(waitTimeout):
		t.Errorf("the grandchild %d still runs: killing it", *pid)
		syscall.Kill(*pid, syscall.SIGKILL)
		<-done
	}
}

// startGrandchild starts a child that leaves a grandchild holding its
// stdin and stdout and exits 3 at once. It returns the transport, its
// events up to Exited and the grandchild's PipeLost(2) (the grandchild
// has no stderr), and the grandchild's pid. The grandchild is reaped
// when the test ends, after the transport's cleanup closed its stdin.
func startGrandchild(t *testing.T) (transport.SubprocessTransport, <-chan stream.Event, []stream.Event) {
	t.Helper()
	adoptOrphans(t)
	gc := new(int)
	t.Cleanup(func() { reapGrandchild(t, gc) })
	sp := spExec(t, childCmd(t, "grandchild"))
	ch := sp.Events()
	evs := spUntil(t, ch, "Exited", isKind(stream.Exited))
	if slices.IndexFunc(evs, isPipeLost(2)) < 0 {
		evs = append(evs, spUntil(t, ch, "PipeLost(2)", isPipeLost(2))...)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(spOutput(evs, 2))))
	if err != nil {
		t.Fatalf("the child's stderr: %q, want the grandchild's pid", spOutput(evs, 2))
	}
	*gc = pid
	if code, ok := sp.ReturnCode(); !ok || code != 3 {
		t.Fatalf("ReturnCode = %d, %v; want 3, true", code, ok)
	}
	if slices.IndexFunc(evs, isPipeLost(1)) >= 0 || len(spOutput(evs, 1)) > 0 {
		t.Fatalf("stdout ended or had data while the grandchild holds it: %v", evs)
	}
	return sp, ch, evs
}

// TestS5_GrandchildHoldingStdoutDoesNotDelayExited checks that Exited
// comes when the child exits, although a grandchild holds stdout; the
// grandchild's output and PipeLost(1) follow it, and Lost comes last.
func TestS5_GrandchildHoldingStdoutDoesNotDelayExited(t *testing.T) {
	sp, ch, evs := startGrandchild(t)
	if _, err := stdinOf(t, sp).Write([]byte("go\n")); err != nil {
		t.Fatalf("telling the grandchild: %v", err)
	}
	evs = append(evs, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	exited := slices.IndexFunc(evs, isKind(stream.Exited))
	late := slices.IndexFunc(evs, func(e stream.Event) bool { return e.Kind == stream.PipeData && e.FD == 1 })
	if late < exited || slices.IndexFunc(evs, isPipeLost(1)) < exited {
		t.Fatalf("the grandchild's output or PipeLost(1) came before Exited: %v", evs)
	}
	if got := string(spOutput(evs, 1)); got != "late\n" {
		t.Fatalf("stdout %q, want the grandchild's late", got)
	}
}

// TestS5_CloseDoesNotWaitForGrandchild checks that Close ends the
// transport at once although a grandchild holds stdout open.
func TestS5_CloseDoesNotWaitForGrandchild(t *testing.T) {
	sp, ch, evs := startGrandchild(t)
	sp.Close()
	evs = append(evs, spCollect(t, ch)...)
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if code, _ := sp.ReturnCode(); code != 3 {
		t.Fatalf("ReturnCode %d, want the child's own 3", code)
	}
}

// openFDs counts the process's open descriptors, but the poller loops'
// own (an epoll instance and an eventfd each): the loops of earlier
// tests' transports stop on their own once idle.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("/proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		link, err := os.Readlink("/proc/self/fd/" + e.Name())
		// A descriptor gone since ReadDir was closed meanwhile (a
		// poller loop's, exiting after its last registration).
		if err == nil && link != "anon_inode:[eventpoll]" && link != "anon_inode:[eventfd]" {
			n++
		}
	}
	return n
}

// fdLinks lists the process's descriptors and what they are, for a
// failure's message.
func fdLinks() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		link, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&b, " %s=%s", e.Name(), link)
	}
	return b.String()
}

// TestLC5_SubprocessAndPipesReleaseFDs checks that subprocess and pipe
// transports, run to Lost in various ways (and failed Execs), leave no
// descriptor open.
func TestLC5_SubprocessAndPipesReleaseFDs(t *testing.T) {
	round := func(t *testing.T) {
		// A child that exits, one closed while it runs, one without pipes.
		for _, closeIt := range []bool{false, true} {
			sp, err := transport.Exec(context.Background(), childCmd(t, "echo"))
			if err != nil {
				t.Fatal(err)
			}
			if closeIt {
				sp.Close()
			} else {
				stdinOf(t, sp).WriteEOF()
			}
			spCollect(t, sp.Events())
			waitDone(t, sp)
		}
		sp, err := transport.Exec(context.Background(), childCmd(t, "exit", "0"),
			transport.WithStdin(transport.Discard), transport.WithStdout(transport.Discard), transport.WithStderr(transport.Discard))
		if err != nil {
			t.Fatal(err)
		}
		spCollect(t, sp.Events())
		waitDone(t, sp)
		if _, err := transport.Exec(context.Background(), childCmd(t, "exit", "0"), transport.WithStdin(transport.Stdout)); err == nil {
			t.Fatal("Exec with WithStdin(Stdout) succeeded")
		}
		if _, err := transport.Exec(context.Background(), childCmd(t, "exit", "0"), transport.WithStderr(transport.Stdio(9))); err == nil {
			t.Fatal("Exec with a bad Stdio succeeded")
		}
		// Read and write pipes: EOF, Abort, WriteEOF.
		r, w := osPipe(t)
		rt, err := transport.ReadPipe(r)
		if err != nil {
			t.Fatal(err)
		}
		wt, err := transport.WritePipe(w)
		if err != nil {
			t.Fatal(err)
		}
		wt.Write([]byte("x"))
		wt.WriteEOF()
		spCollect(t, rt.Events())
		waitDone(t, rt)
		spCollect(t, wt.Events())
		waitDone(t, wt)
		r, w = osPipe(t)
		rt, err = transport.ReadPipe(r)
		if err != nil {
			t.Fatal(err)
		}
		rt.Abort()
		spCollect(t, rt.Events())
		waitDone(t, rt)
		w.Close()
	}
	round(t) // first use may open descriptors kept for good
	before := openFDs(t)
	for range 5 {
		round(t)
	}
	// Each round waited for its transports' Done: after the peer's EOF a
	// channel consumer's Lost comes before the descriptor's close. (Fewer
	// is an earlier test's transport finishing its close.)
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors open before, %d after:%s", before, after, fdLinks())
	}
}
