package transport_test

import (
	"testing"

	"github.com/rxnet/rxnet/internal/childtest"
	"github.com/rxnet/rxnet/internal/enginetest"
)

// TestMain runs a child behaviour when this binary was started as a
// subprocess by childCmd (child_test.go, package childtest), and the tests otherwise, failing
// them when a goroutine outlives them: every test with the default
// engine, then the conformance suites with the other (internal/enginetest).
func TestMain(m *testing.M) {
	childtest.Main(runChild)
	enginetest.MainAlso(m, "^TestConformance")
}
