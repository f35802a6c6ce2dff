//go:build !linux

package poll

import (
	"errors"
	"testing"
)

// TestUnsupported: off Linux, Register fails with errors.ErrUnsupported.
func TestUnsupported(t *testing.T) {
	if Supported() {
		t.Error("Supported() = true off Linux")
	}
	if _, err := Register(0, nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Register: %v, want errors.ErrUnsupported", err)
	}
}
