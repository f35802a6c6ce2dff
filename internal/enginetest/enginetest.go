// Package enginetest runs a test binary's tests once per engine (DESIGN.md,
// "Engines"): with RXNET_ENGINE=poll, where the poller runs, then with
// RXNET_ENGINE=goroutine, each pass checked for leaked goroutines as
// goleak.VerifyTestMain checks. A RXNET_ENGINE set by the caller runs that
// engine alone.
package enginetest

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/rxnet/rxnet/internal/poll"
)

// Var is the environment variable the transports read.
const Var = "RXNET_ENGINE"

// Engines returns the engines Main runs the tests with, in order.
func Engines() []string {
	if e := os.Getenv(Var); e != "" {
		return []string{e}
	}
	if poll.Supported() {
		return []string{"poll", "goroutine"}
	}
	return []string{"goroutine"}
}

// Main is a TestMain: it runs m once per engine and exits with the first
// failing pass's code. Only a TestMain may call it.
func Main(m *testing.M) {
	code := 0
	for _, e := range Engines() {
		os.Setenv(Var, e)
		c := m.Run()
		if c == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
				c = 1
			}
		}
		if c != 0 {
			fmt.Fprintf(os.Stderr, "FAIL with %s=%s\n", Var, e)
			if code == 0 {
				code = c
			}
		}
	}
	os.Exit(code)
}
