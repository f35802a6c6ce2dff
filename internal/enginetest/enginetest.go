// Package enginetest runs a test binary's tests once per engine (DESIGN.md,
// "Engines"): with RXNET_ENGINE=poll, where the poller runs, then with
// RXNET_ENGINE=goroutine, each pass checked for leaked goroutines as
// goleak.VerifyTestMain checks. A RXNET_ENGINE set by the caller runs that
// engine alone.
package enginetest

import (
	"flag"
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
func Main(m *testing.M) { MainAlso(m, "") }

// MainAlso is Main for a package whose tests are not all about the
// engine: the first engine runs every test, the others only those that
// match pattern (a -run expression; "" means all), unless the caller
// gave -run itself. Only a TestMain may call it.
func MainAlso(m *testing.M, pattern string) {
	flag.Parse()
	own := flag.Lookup("test.run").Value.String() != ""
	code := 0
	for i, e := range Engines() {
		if i == 1 && pattern != "" && !own {
			_ = flag.Set("test.run", pattern)
		}
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
