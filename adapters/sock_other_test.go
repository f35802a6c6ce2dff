//go:build !linux

package adapters_test

import (
	"errors"
	"runtime"
	"syscall"
)

// setSockBuf does nothing off Linux: the tests then only back up later.
func setSockBuf(syscall.RawConn, int, int) error { return nil }

// inQueue is Linux only (SIOCINQ); tests that need it skip elsewhere.
func inQueue(syscall.RawConn) (int, error) { return 0, errors.ErrUnsupported }

func yield() { runtime.Gosched() }

// outQueue is Linux only (SIOCOUTQ).
func outQueue(syscall.RawConn) (int, error) { return 0, errors.ErrUnsupported }
