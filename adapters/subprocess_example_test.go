//go:build unix

package adapters_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"slices"

	"github.com/rxnet/rxnet/internal/childtest"

	"github.com/rxnet/rxnet/adapters"
	"github.com/rxnet/rxnet/transport"
)

// exampleChild returns a command that runs this test binary again as a
// child with one of child_test.go's behaviours ("echo": stdin to stdout),
// so the examples need no shell and no other program (GORACE spares it
// the race detector's second of sleep at exit). In a program of your
// own, exec.Command("cat") is the same child.
func exampleChild(behaviour string, args ...string) *exec.Cmd {
	return childtest.Cmd(behaviour, args...)
}

// greeter is a SubprocessProtocol that sends its child a line, collects
// what comes back on stdout and reports when the transport is lost.
type greeter struct {
	adapters.BaseSubprocessProtocol
	t      transport.SubprocessTransport
	stdout []byte
	lost   []int
	exited string
	done   chan struct{}
}

var _ adapters.SubprocessProtocol = (*greeter)(nil)

func (p *greeter) ConnectionMade(t transport.SubprocessTransport) {
	fmt.Println("ConnectionMade")
	p.t = t
	stdin, _ := t.Stdin()
	stdin.Write([]byte("hello, child\n"))
	stdin.WriteEOF() // on a pipe: flush, then close; the child reads EOF
}

// PipeDataReceived borrows data: keep a copy.
func (p *greeter) PipeDataReceived(fd int, data []byte) {
	if fd == 1 {
		p.stdout = append(p.stdout, data...)
	}
}

// PipeConnectionLost, ProcessExited and output come in no set order
// between ConnectionMade and ConnectionLost: note them, print at the end.
func (p *greeter) PipeConnectionLost(fd int, err error) { p.lost = append(p.lost, fd) }

func (p *greeter) ProcessExited() {
	code, _ := p.t.ReturnCode()
	p.exited = fmt.Sprint("ProcessExited, code ", code)
}

func (p *greeter) ConnectionLost(err error) {
	slices.Sort(p.lost)
	fmt.Printf("PipeDataReceived: %q\n", p.stdout)
	fmt.Println("PipeConnectionLost:", p.lost)
	fmt.Println(p.exited)
	fmt.Println("ConnectionLost:", err)
	close(p.done)
}

// RunProcess (asyncio's subprocess_exec with a protocol factory) starts
// the child and drives its events into a SubprocessProtocol's callbacks,
// one at a time. Here the child echoes its stdin.
func ExampleRunProcess() {
	t, p, err := adapters.RunProcess(context.Background(), exampleChild("echo"),
		func() *greeter { return &greeter{exited: "no ProcessExited", done: make(chan struct{})} })
	if err != nil {
		log.Fatal(err)
	}
	<-p.done
	// The child exited by itself: the transport is not closing, and it
	// signals no more.
	fmt.Println("IsClosing:", t.IsClosing())
	fmt.Println("Kill after exit:", errors.Is(t.Kill(), os.ErrProcessDone))
	// Output:
	// ConnectionMade
	// PipeDataReceived: "hello, child\n"
	// PipeConnectionLost: [0 1 2]
	// ProcessExited, code 0
	// ConnectionLost: <nil>
	// IsClosing: false
	// Kill after exit: true
}

// shellOutput is a SubprocessProtocol that collects its child's stdout.
type shellOutput struct {
	adapters.BaseSubprocessProtocol
	t      transport.SubprocessTransport
	stdout []byte
	done   chan struct{}
}

var _ adapters.SubprocessProtocol = (*shellOutput)(nil)

func (p *shellOutput) ConnectionMade(t transport.SubprocessTransport) { p.t = t }

func (p *shellOutput) PipeDataReceived(fd int, data []byte) {
	if fd == 1 {
		p.stdout = append(p.stdout, data...) // data is borrowed: copy it
	}
}

func (p *shellOutput) ConnectionLost(err error) {
	code, _ := p.t.ReturnCode()
	fmt.Printf("stdout %q, exit code %d, ConnectionLost: %v\n", p.stdout, code, err)
	close(p.done)
}

// RunShell (asyncio's subprocess_shell with a protocol factory) runs a
// command line with /bin/sh -c; like RunProcess, it returns once
// ConnectionMade has returned, and the callbacks follow.
func ExampleRunShell() {
	_, p, err := adapters.RunShell(context.Background(), "echo $((6 * 7)); exit 3",
		func() *shellOutput { return &shellOutput{done: make(chan struct{})} },
		transport.WithStdin(transport.Discard))
	if err != nil {
		log.Fatal(err)
	}
	<-p.done
	// Output:
	// stdout "42\n", exit code 3, ConnectionLost: <nil>
}
