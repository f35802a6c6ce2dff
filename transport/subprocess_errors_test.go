//go:build unix

package transport_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reactivex/rxgo/v2"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// TestER1_ExecErrors checks Exec's refusals: nothing is started and
// nothing panics.
func TestER1_ExecErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		cmd  func(t *testing.T) *exec.Cmd
		opts []transport.Option
	}{
		{name: "NilCmd", cmd: func(*testing.T) *exec.Cmd { return nil }},
		{name: "BufferStdout", cmd: func(t *testing.T) *exec.Cmd {
			c := childCmd(t, "exit", "0")
			c.Stdout = &bytes.Buffer{}
			return c
		}},
		{name: "ReaderStdin", cmd: func(t *testing.T) *exec.Cmd {
			c := childCmd(t, "exit", "0")
			c.Stdin = strings.NewReader("x")
			return c
		}},
		{name: "StdinStdout", opts: []transport.Option{transport.WithStdin(transport.Stdout)}},
		{name: "StdoutStdout", opts: []transport.Option{transport.WithStdout(transport.Stdout)}},
		{name: "BadStdio", opts: []transport.Option{transport.WithStderr(transport.Stdio(42))}},
		{name: "BadLimits", opts: []transport.Option{transport.WithWriteBufferLimits(1, 2)}},
		{name: "CancelledCtx", ctx: cancelled},
		{name: "NoSuchProgram", cmd: func(t *testing.T) *exec.Cmd {
			return exec.Command(t.TempDir() + "/no-such-program")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			cmd := childCmd(t, "exit", "0")
			if tc.cmd != nil {
				cmd = tc.cmd(t)
			}
			sp, err := transport.Exec(ctx, cmd, tc.opts...)
			if err == nil {
				spEnd(t, sp)
				t.Fatalf("Exec succeeded, want an error")
			}
			if cmd != nil && cmd.Process != nil {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("Exec returned %v but started the child", err)
			}
		})
	}
}

// TestER1_ExecStartedCmd checks that Exec refuses a command already
// started, and leaves it alone.
func TestER1_ExecStartedCmd(t *testing.T) {
	cmd := childCmd(t, "exit", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if sp, err := transport.Exec(context.Background(), cmd); err == nil {
		spEnd(t, sp)
		t.Fatal("Exec of a started cmd succeeded")
	}
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 5 {
		t.Fatalf("the started child: %v, want exit status 5", err)
	}
	if _, err := transport.Shell(context.Background(), ""); err == nil {
		t.Fatal("Shell of an empty command line succeeded")
	}
}

// TestER1_ExecCallerFileIsTheChilds checks that an *os.File the caller
// sets in cmd is the child's own stream, not a pipe of the transport.
func TestER1_ExecCallerFileIsTheChilds(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := childCmd(t, "write", "1", "direct")
	cmd.Stdout = w
	sp := spExec(t, cmd)
	w.Close() // the child has its own copy
	if _, ok := sp.Stdout(); ok {
		t.Error("Stdout ok for a stdout the caller set")
	}
	r.SetReadDeadline(time.Now().Add(waitTimeout))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "direct" {
		t.Fatalf("read %q, %v from the caller's file; want direct", got, err)
	}
	if err := spCheckTrace(spCollect(t, sp.Events()), 0, 2); err != nil {
		t.Fatal(err)
	}
}

// TestX5_SubprocessExtraInfo checks ExtraInfo: "subprocess" is the cmd,
// the pipes have "pipe", and nothing has "socket".
func TestX5_SubprocessExtraInfo(t *testing.T) {
	cmd := childCmd(t, "exit", "0")
	sp := spExec(t, cmd)
	if v, ok := sp.ExtraInfo(transport.InfoSubprocess); !ok || v != cmd {
		t.Errorf(`ExtraInfo("subprocess") = %v, %v; want the cmd`, v, ok)
	}
	for _, key := range []string{transport.InfoSocket, transport.InfoPipe, transport.InfoPeername, "nope"} {
		if v, ok := sp.ExtraInfo(key); ok {
			t.Errorf("ExtraInfo(%q) = %v, want none", key, v)
		}
	}
	for fd := range 3 {
		pt, _ := sp.PipeTransport(fd)
		if v, ok := pt.ExtraInfo(transport.InfoPipe); !ok || v.(*os.File) == nil {
			t.Errorf(`PipeTransport(%d).ExtraInfo(transport.InfoPipe) = %v, %v; want its file`, fd, v, ok)
		}
		if v, ok := pt.ExtraInfo(transport.InfoSocket); ok {
			t.Errorf(`PipeTransport(%d).ExtraInfo(transport.InfoSocket) = %v, want none`, fd, v)
		}
	}
	spCollect(t, sp.Events())
	if v, ok := sp.ExtraInfo(transport.InfoSubprocess); !ok || v != cmd {
		t.Errorf(`ExtraInfo("subprocess") after Lost = %v, %v; want the cmd`, v, ok)
	}
}

// TestLC5_SubprocessObservableCancelKillsChild checks that cancelling the
// Observable's context kills the child and ends everything (goleak checks
// the goroutines when the package's tests end).
func TestLC5_SubprocessObservableCancelKillsChild(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	items := sp.Observable(rxgo.WithContext(ctx)).Observe()
	select {
	case it := <-items:
		if e, ok := it.V.(stream.Event); !ok || e.Kind != stream.Made {
			t.Fatalf("first item %v, want Made", it)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no Made")
	}
	cancel()
	timeout := time.After(waitTimeout)
	for open := true; open; {
		select {
		case _, open = <-items:
		case <-timeout:
			t.Fatal("the Observable did not complete after its context was cancelled")
		}
	}
	if code := spWaitCode(t, sp); code != -9 {
		t.Fatalf("ReturnCode %d after the cancel, want -9", code)
	}
	if !sp.IsClosing() {
		t.Error("IsClosing false after the subscription was cancelled")
	}
}

// TestCC1_SubprocessConcurrentMethods calls the methods of a subprocess
// transport and of its stdin from several goroutines at once, while the
// child is signalled and closed and the events are read: the race
// detector, the trace and the exit code check the outcome.
func TestCC1_SubprocessConcurrentMethods(t *testing.T) {
	sp := spExec(t, childCmd(t, "echo"))
	ch := sp.Events()
	stdin := stdinOf(t, sp)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			<-start
			for range 200 {
				stdin.Write([]byte("x")) // fails once closed: not checked
				sp.ReturnCode()
				sp.IsClosing()
				sp.PID()
				sp.ExtraInfo(transport.InfoSubprocess)
				if pt, ok := sp.PipeTransport(i % 3); ok {
					pt.IsClosing()
				}
				stdin.WriteBufferSize()
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			<-start
			sp.Terminate()
			sp.SendSignal(os.Kill)
			sp.Kill()
			sp.Close()
		})
	}
	close(start)
	evs := spCollect(t, ch)
	wg.Wait()
	if err := spCheckTrace(evs, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	if code, ok := sp.ReturnCode(); !ok || code != -9 && code != -15 {
		t.Fatalf("ReturnCode = %d, %v; want -9 or -15", code, ok)
	}
}
