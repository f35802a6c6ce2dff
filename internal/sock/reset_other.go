//go:build !linux

package sock

// TCPClosed reports false: only Linux is known to read 0 after a reset.
func (f *FD) TCPClosed() bool { return false }
