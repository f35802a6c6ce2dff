package transport_test

import (
	"testing"

	"github.com/rxnet/rxnet/internal/childtest"

	"go.uber.org/goleak"
)

// TestMain runs a child behaviour when this binary was started as a
// subprocess by childCmd (child_test.go, package childtest), and the tests otherwise, failing
// them when a goroutine outlives them.
func TestMain(m *testing.M) {
	childtest.Main(runChild)
	goleak.VerifyTestMain(m)
}
