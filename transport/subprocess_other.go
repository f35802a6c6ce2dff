//go:build !unix

package transport

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
)

// Exec returns an error wrapping errors.ErrUnsupported off Unix.
func Exec(ctx context.Context, cmd *exec.Cmd, opts ...Option) (SubprocessTransport, error) {
	return nil, fmt.Errorf("transport: subprocesses: %w", errors.ErrUnsupported)
}

// Shell returns an error wrapping errors.ErrUnsupported off Unix.
func Shell(ctx context.Context, cmdline string, opts ...Option) (SubprocessTransport, error) {
	return nil, fmt.Errorf("transport: subprocesses: %w", errors.ErrUnsupported)
}
