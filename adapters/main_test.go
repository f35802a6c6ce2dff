package adapters_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them
// (DESIGN LC5): every transport, server and Serve loop a test starts must
// be closed by its cleanups.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
