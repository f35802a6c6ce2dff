package adapters_test

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rxnet/rxnet/internal/childtest"
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

// runChild runs a child behaviour and returns its exit status.
func runChild(name string, args []string) int {
	switch name {
	case "echo": // stdin to stdout until EOF
		io.Copy(os.Stdout, os.Stdin)
		return 0
	case "linger": // echo, then keep running: only a signal ends it soon
		io.Copy(os.Stdout, os.Stdin)
		time.Sleep(2 * childTimeout) // the timer above ends it first
		return 0
	case "write": // args: fd, text, fd, text...: each written in order
		for i := 0; i+1 < len(args); i += 2 {
			f := os.Stdout
			if args[i] == "2" {
				f = os.Stderr
			}
			f.WriteString(args[i+1])
		}
		return 0
	case "spray": // args: bytes: that many to stdout and to stderr, interleaved
		n, _ := strconv.Atoi(args[0])
		chunk := make([]byte, 1024)
		for sent := 0; sent < n; sent += len(chunk) {
			os.Stdout.Write(chunk)
			os.Stderr.Write(chunk)
		}
		return 0
	case "gated": // say ready; read nothing until fd 3 gives a byte or ends
		os.Stdout.WriteString("ready\n")
		os.NewFile(3, "gate").Read(make([]byte, 1))
		io.Copy(io.Discard, os.Stdin)
		return 0
	case "detach-abort-race": // args: rounds (TestDefect1)
		return detachAbortRace(args)
	}
	os.Stderr.WriteString("unknown child behaviour " + name + "\n")
	return 2
}
