//go:build unix

package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"slices"

	"github.com/rxnet/rxnet/internal/childtest"

	"github.com/rxnet/rxnet/stream"
	"github.com/rxnet/rxnet/transport"
)

// exampleChild returns a command that runs this test binary again as a
// child with one of child_test.go's behaviours ("echo": stdin to stdout),
// so the examples need no shell and no other program. In a program of
// your own, exec.Command("cat") is the same child.
func exampleChild(behaviour string, args ...string) *exec.Cmd {
	return childtest.Cmd(behaviour, args...)
}

// Exec (asyncio's subprocess_exec) starts a child with its standard
// streams as pipes and folds everything that happens to it into one event
// stream: Made, the PipeData it writes (FD 1 or 2), one PipeLost per
// pipe, Exited, and Lost last. Here the child echoes its stdin.
func ExampleExec() {
	t, err := transport.Exec(context.Background(), exampleChild("echo"))
	if err != nil {
		log.Fatal(err)
	}
	// The stdin pipe is a write transport: Write never blocks, and on a
	// pipe WriteEOF flushes and closes, so the child reads EOF.
	stdin, _ := t.Stdin()
	stdin.Write([]byte("hello, child\n"))
	stdin.WriteEOF()

	var lost []int
	exited := "no Exited"
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Made:
			fmt.Println("Made")
		case stream.PipeData:
			// A write of at most PIPE_BUF bytes reaches a pipe whole, so
			// this short echo comes in one piece; longer output may not.
			fmt.Printf("PipeData fd %d: %q\n", ev.FD, ev.Data)
		case stream.PipeLost: // the pipes close in no set order
			lost = append(lost, ev.FD)
		case stream.Exited: // output may still come after Exited
			code, _ := t.ReturnCode()
			exited = fmt.Sprint("Exited, code ", code)
		case stream.Lost: // last: after Exited and every PipeLost
			fmt.Println(exited)
			slices.Sort(lost)
			fmt.Println("pipes lost:", lost)
			fmt.Println("Lost", ev.Err)
		}
	}
	// Output:
	// Made
	// PipeData fd 1: "hello, child\n"
	// Exited, code 0
	// pipes lost: [0 1 2]
	// Lost <nil>
}

// Stdin, Stdout and Stderr return the transports of a child's pipes,
// typed, with ok false for a stream that is not a pipe: here stderr is
// merged into stdout. The stdin pipe is a WriteTransport with flow
// control, so a producer writes, then Drains (which waits only while the
// pipe's buffer is over its high-water mark).
func ExampleSubprocessTransport_Stdin() {
	ctx := context.Background()
	t, err := transport.Exec(ctx, exampleChild("echo"), transport.WithStderr(transport.Stdout))
	if err != nil {
		log.Fatal(err)
	}
	stdin, ok := t.Stdin()
	fmt.Println("stdin is a pipe:", ok)
	_, ok = t.Stdout()
	fmt.Println("stdout is a pipe:", ok)
	_, ok = t.Stderr()
	fmt.Println("stderr is a pipe:", ok)
	for _, line := range []string{"one\n", "two\n"} {
		if _, err := stdin.Write([]byte(line)); err != nil {
			log.Fatal(err)
		}
		if err := stdin.Drain(ctx); err != nil {
			log.Fatal(err)
		}
	}
	stdin.WriteEOF() // flush, then close: the child reads EOF and exits
	var out []byte
	for ev := range t.Events() {
		if ev.Kind == stream.PipeData {
			out = append(out, ev.Data...)
		}
	}
	fmt.Printf("echoed %q\n", out)
	// Output:
	// stdin is a pipe: true
	// stdout is a pipe: true
	// stderr is a pipe: false
	// echoed "one\ntwo\n"
}

// ReadPipe (asyncio's connect_read_pipe) turns the read end of a pipe into
// a read transport: Made, the Data, EOF when the writer closes its end,
// then Lost: a read pipe always closes at EOF.
func ExampleReadPipe() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	t, err := transport.ReadPipe(r) // takes r over: it closes r at the end
	if err != nil {
		log.Fatal(err)
	}
	pipe, _ := t.ExtraInfo(transport.InfoPipe)
	fmt.Println("pipe is r:", pipe == r)
	go func() {
		w.Write([]byte("through "))
		w.Write([]byte("a pipe"))
		w.Close()
	}()
	var got []byte
	for ev := range t.Events() {
		switch ev.Kind {
		case stream.Data: // the writes may come split or joined: collect them
			got = append(got, ev.Data...)
		case stream.EOF:
			fmt.Printf("EOF after %q\n", got)
		default:
			fmt.Println(ev.Kind, ev.Err)
		}
	}
	fmt.Println("closing:", t.IsClosing())
	// Output:
	// pipe is r: true
	// Made <nil>
	// EOF after "through a pipe"
	// Lost <nil>
	// closing: true
}

// WritePipe (asyncio's connect_write_pipe) turns the write end of a pipe
// into a write transport with flow control: Write never blocks, Drain
// waits while the buffer is over its high-water mark, and WriteEOF flushes
// and closes, so the reader sees EOF after every byte.
func ExampleWritePipe() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	received := make(chan int64)
	go func() { // a plain reader on the other end
		n, _ := io.Copy(io.Discard, r)
		r.Close()
		received <- n
	}()

	t, err := transport.WritePipe(w, transport.WithWriteBufferLimits(64<<10, 16<<10))
	if err != nil {
		log.Fatal(err)
	}
	lost := make(chan error)
	go func() {
		// Made, PauseWriting and ResumeWriting (as many as the reader's
		// pace makes), Lost.
		for ev := range t.Events() {
			if ev.Kind == stream.Lost {
				lost <- ev.Err
			}
		}
	}()

	ctx := context.Background()
	chunk := make([]byte, 32<<10)
	for range 64 {
		if _, err := t.Write(chunk); err != nil {
			log.Fatal(err)
		}
		if err := t.Drain(ctx); err != nil {
			log.Fatal(err)
		}
	}
	t.WriteEOF() // on a pipe: flush, then close
	_, err = t.Write([]byte("late"))
	fmt.Println("write after WriteEOF:", errors.Is(err, net.ErrClosed))
	fmt.Println("lost:", <-lost)
	fmt.Println("the reader got", <-received, "bytes")
	// Output:
	// write after WriteEOF: true
	// lost: <nil>
	// the reader got 2097152 bytes
}
