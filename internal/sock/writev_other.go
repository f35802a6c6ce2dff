//go:build unix && !(darwin || linux || openbsd)

package sock

import "golang.org/x/sys/unix"

// writev writes the first non-empty buffer: golang.org/x/sys/unix has no
// writev here, and a short write is what writev may return anyway.
func writev(fd int, bufs [][]byte) (int, error) {
	for _, b := range bufs {
		if len(b) > 0 {
			return unix.Write(fd, b)
		}
	}
	return 0, nil
}
