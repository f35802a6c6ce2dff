package transport_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs a child behaviour when this binary was started as a
// subprocess by childCmd (child_test.go), and the tests otherwise, failing
// them when a goroutine outlives them.
func TestMain(m *testing.M) {
	if name := os.Getenv(childEnv); name != "" {
		os.Exit(runChild(name, childArgs()))
	}
	goleak.VerifyTestMain(m)
}
