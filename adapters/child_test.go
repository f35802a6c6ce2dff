package adapters_test

import (
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The subprocess tests run no external program: every child is this test
// binary again, started by childCmd with childEnv naming what it does.
// TestMain runs that behaviour instead of the tests and exits.

// childEnv names the behaviour a re-executed test binary runs.
const childEnv = "RXNET_TEST_CHILD"

// childTimeout ends a child nobody ended, so that no process outlives a
// failed test for long.
const childTimeout = 20 * time.Second

// childCmd returns a command that runs this test binary as a child with
// the named behaviour and args (-test.run=^$: no test, should the
// dispatch in TestMain ever be skipped). Under the race detector a
// process sleeps a second at exit unless GORACE says otherwise.
func childCmd(t testing.TB, behaviour string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), childEnv+"="+behaviour,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	return cmd
}

// childArgs returns the arguments childCmd put after "--".
func childArgs() []string {
	if i := slices.Index(os.Args, "--"); i >= 0 {
		return os.Args[i+1:]
	}
	return nil
}

// runChild runs a child behaviour and returns its exit status.
func runChild(name string, args []string) int {
	time.AfterFunc(childTimeout, func() { os.Exit(99) })
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
	}
	os.Stderr.WriteString("unknown child behaviour " + name + "\n")
	return 2
}
