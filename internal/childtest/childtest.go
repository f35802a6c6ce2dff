// Package childtest lets a test binary run itself as a child process, so
// that subprocess tests need no external program (no sh, no cat): a test
// starts Cmd("echo"), and the package's TestMain calls Main first,
// which runs the named behaviour in the child and exits.
package childtest

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// Env names the behaviour a re-executed test binary runs.
const Env = "RXNET_TEST_CHILD"

// Timeout ends a child that nobody ended (Main exits it with status 99),
// so that no process outlives a failed test for long.
const Timeout = 20 * time.Second

// Main runs the behaviour named in the environment, if this process is a
// child started by Cmd, and exits with the status run returns; it returns
// at once otherwise. Call it first in TestMain.
func Main(run func(behaviour string, args []string) int) {
	name := os.Getenv(Env)
	if name == "" {
		return
	}
	time.AfterFunc(Timeout, func() { os.Exit(99) })
	os.Exit(run(name, args()))
}

// Cmd returns a command that runs this test binary as a child with the
// named behaviour and args. It runs no test (-test.run=^$) should Main
// ever be skipped.
func Cmd(behaviour string, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe, append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = Environ(behaviour)
	return cmd
}

// Environ is the environment of a child with the given behaviour. Under
// the race detector a process sleeps a second at exit unless GORACE says
// otherwise, so it does.
func Environ(behaviour string) []string {
	return append(os.Environ(), Env+"="+behaviour,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
}

// args returns the arguments Cmd put after "--".
func args() []string {
	if i := slices.Index(os.Args, "--"); i >= 0 {
		return os.Args[i+1:]
	}
	return nil
}
