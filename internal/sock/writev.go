//go:build darwin || linux || openbsd

package sock

import "golang.org/x/sys/unix"

// writev writes bufs with one writev(2).
func writev(fd int, bufs [][]byte) (int, error) { return unix.Writev(fd, bufs) }
