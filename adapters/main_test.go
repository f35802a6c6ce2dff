package adapters_test

import (
	"testing"

	"github.com/rxnet/rxnet/internal/childtest"

	"github.com/rxnet/rxnet/internal/enginetest"
)

// TestMain runs a child behaviour when this binary was started as a
// subprocess by childCmd (child_test.go, package childtest). Otherwise it runs the tests and
// fails them when a goroutine outlives them (DESIGN LC5): every transport,
// server and Serve loop a test starts must be closed by its cleanups.
func TestMain(m *testing.M) {
	childtest.Main(runChild)
	enginetest.Main(m) // once per engine, each pass checked by goleak
}
