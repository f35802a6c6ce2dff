//go:build !linux

package sock

// WasReset reports false: only Linux is known to read 0 after a reset.
func (f *FD) WasReset() bool { return false }
