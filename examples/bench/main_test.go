package main

import (
	"os/exec"
	"testing"

	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/internal/childtest"
)

// childBehaviour names the server child in a re-executed test binary.
const childBehaviour = "bench-server"

// TestMain runs the server children of the tests that start them (the
// soak's) as this test binary again, then the tests, checking for
// leaked goroutines.
func TestMain(m *testing.M) {
	childtest.Main(func(behaviour string, args []string) int {
		if behaviour != childBehaviour {
			return 2
		}
		return runChild(args)
	})
	serverCommand = func(args []string) (*exec.Cmd, error) { return childtest.Cmd(childBehaviour, args...), nil }
	goleak.VerifyTestMain(m)
}
