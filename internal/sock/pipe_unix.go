//go:build unix

package sock

import "golang.org/x/sys/unix"

// WaitHangup waits until the reader of a write-only pipe has gone (the
// descriptor reports POLLERR or POLLHUP) and returns nil, or returns the
// poller's error: the descriptor was closed, or the poller saw only an
// error event (Go's reports the reader going away that way). The caller
// tells the two apart by whether it closed the descriptor.
func (f *FD) WaitHangup() error {
	return f.rc.Read(func(fd uintptr) bool { return hangup(int(fd)) })
}

// hangup polls fd once, without waiting.
func hangup(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0 && pfd[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
	}
}
